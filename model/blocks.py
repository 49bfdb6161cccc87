"""Building blocks: heavy UNet modules, their light tile-safe counterparts, the annealing mix."""

from __future__ import annotations

import torch
from torch import nn


def act() -> nn.Module:
    """The network's activation (cheap, ONNX-friendly, no spatial statistics)."""
    return nn.SiLU()


class HeavyResBlock(nn.Module):
    """A diffusion-UNet residual block: GroupNorm, SiLU, 3x3 conv, twice (spatial statistics)."""

    def __init__(self, channels: int, groups: int = 8) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(groups, channels),
            act(),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(groups, channels),
            act(),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update."""
        return x + self.body(x)


class LightResBlock(nn.Module):
    """Residual block with no normalisation: local and tile-safe.

    kind "dw": depthwise-separable (fewest MACs); "conv": two dense 3x3 convs; "single": one
    dense 3x3 conv after the activation (the stack shape's layer: model/stack.py).
    """

    def __init__(self, channels: int, expand: float = 1.0, kind: str = "dw") -> None:
        super().__init__()
        hidden = max(8, round(channels * expand))
        if kind == "conv":
            self.body = nn.Sequential(
                nn.Conv2d(channels, hidden, 3, padding=1),
                act(),
                nn.Conv2d(hidden, channels, 3, padding=1),
            )
            return
        if kind == "single":
            self.body = nn.Sequential(act(), nn.Conv2d(channels, channels, 3, padding=1))
            return
        if kind != "dw":
            raise ValueError(f"unknown light block kind {kind!r}")
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
            nn.Conv2d(channels, hidden, 1),
            act(),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden),
            nn.Conv2d(hidden, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update."""
        return x + self.body(x)


class HeavyAttention(nn.Module):
    """Single-head self-attention over all positions (global: not tile-safe)."""

    def __init__(self, channels: int, groups: int = 8) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, channels * 3, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        self.scale = channels**-0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual attention update."""
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).unbind(1)
        attn = torch.softmax(torch.einsum("bci,bcj->bij", q, k) * self.scale, dim=-1)
        out = torch.einsum("bij,bcj->bci", attn, v).reshape(b, c, h, w)
        return x + self.proj(out)


class LightAttention(nn.Module):
    """Local gated mixing (large-kernel depthwise conv gate): attention's tile-safe stand-in."""

    def __init__(self, channels: int, kernel: int = 5) -> None:
        super().__init__()
        self.gate = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, groups=channels)
        self.value = nn.Conv2d(channels, channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual gated update."""
        return x + self.proj(self.value(x) * torch.sigmoid(self.gate(x)))


class Annealed(nn.Module):
    """A heavy module beside its light counterpart, mixed as (1 - a) * heavy + a * light.

    a = 0 is the teacher's behaviour, a = 1 the student's; `prune()` drops the heavy side.
    """

    def __init__(self, heavy: nn.Module | None, light: nn.Module | None) -> None:
        super().__init__()
        if heavy is None and light is None:
            raise ValueError("an annealed module needs at least one side")
        self.heavy = heavy
        self.light = light
        self.register_buffer("alpha", torch.tensor(0.0 if heavy is not None else 1.0))

    def set_alpha(self, value: float) -> None:
        """Set the heavy -> light mixing weight."""
        self.alpha.fill_(float(value))

    def prune(self) -> None:
        """Remove the heavy side for good (the light side must exist)."""
        if self.light is None:
            raise RuntimeError("cannot prune: no light counterpart attached")
        self.heavy = None
        self.alpha.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Mix the two sides by the current weight."""
        if self.heavy is None:
            return self.light(x)
        if self.light is None:
            return self.heavy(x)
        a = self.alpha
        # (1 - a) * h + a * l: a = 0 / 1 reproduce either side bit for bit (the old residual
        # form x + (1 - a)(h - x) + a(l - x) is equal in exact arithmetic but rounds).
        return (1 - a) * self.heavy(x) + a * self.light(x)
