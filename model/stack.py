"""The stack shape of PocketSR: LiteED reduced to a head and a pixel-shuffle tail, the UNet to
one level of annealed blocks on the LR grid.

The equal-budget runs (bench/QUALITY.md) measured the UNet-on-a-latent shape behind a plain
conv stack of the same MACs at 12 minutes and at an hour; this shape keeps the paper's parts
(a LiteED encoder and decoder, heavy UNet modules annealed into light ones, multi-layer
feature distillation, one step) on a main path that is such a stack: every light block is one
dense 3x3 conv on the LR grid, the heavy attention is annealed into a skip, and the latent is
the stack's own width.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import Annealed, HeavyAttention, HeavyResBlock, LightAttention, LightResBlock, act
from .config import NetConfig
from .liteed import Features


class StackEncoder(nn.Module):
    """LiteED's encoder at its lightest: one 3x3 conv from RGB to the latent width."""

    def __init__(self, latent: int) -> None:
        super().__init__()
        self.head = nn.Sequential(nn.Conv2d(3, latent, 3, padding=1), act())

    def forward(self, x: torch.Tensor) -> Features:
        """LR image (0..1) -> the latent on the LR grid (also the only fusion feature)."""
        h = self.head(x * 2 - 1)
        return Features(h, h, h)


class StackDecoder(nn.Module):
    """LiteED's decoder at its lightest: a 3x3 conv to scale² RGB phases and a pixel shuffle."""

    def __init__(self, latent: int, scale: int) -> None:
        super().__init__()
        self.out = nn.Sequential(
            nn.Conv2d(latent, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)
        )

    def forward(
        self, z: torch.Tensor, feats: Features | None, base: torch.Tensor | None
    ) -> torch.Tensor:
        """Decode; the encoder's features already reach here through x0 = z + UNet(z)."""
        out = self.out(z)
        return out if base is None else out + base


def light_attention(cfg: NetConfig, channels: int) -> nn.Module:
    """Attention's light counterpart: a local gated mix, or in the stack shape a plain skip."""
    return nn.Identity() if cfg.shape == "stack" else LightAttention(channels)


def _block(c: int, cfg: NetConfig, heavy: bool) -> Annealed:
    return Annealed(
        HeavyResBlock(c, cfg.groups) if heavy else None,
        None if heavy else LightResBlock(c, cfg.light_expand, cfg.light_kind),
    )


class HalfLevel(nn.Module):
    """Blocks on the LR/2 grid at `width`, as one residual branch of the LR-grid stack.

    A dense 3x3 conv on LR/2 at twice the width costs the MACs of one on LR at the width, with
    four times the weights and twice the reach per layer: capacity per MAC for the same CPU
    time (bench/QUALITY.md, "Capacity, not data"). In by a stride-2 3x3 conv, out by a 1x1 conv
    and a pixel shuffle.
    """

    def __init__(self, channels: int, width: int, blocks: list[nn.Module]) -> None:
        super().__init__()
        # Adam moves every weight by about the rate, so a layer's relative change per step grows
        # with its fan-in: the branch trains at channels / width of the rate (as in muP). At the
        # full rate its first 90-minute run diverged near step 1 300.
        self.lr_scale = channels / width
        self.down = nn.Conv2d(channels, width, 3, stride=2, padding=1)
        self.body = nn.Sequential(*blocks)
        self.up = nn.Sequential(nn.Conv2d(width, 4 * channels, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual update of the LR-grid features (their sides must be even)."""
        return x + self.up(self.body(self.down(x)))


class StackUNet(nn.Module):
    """The UNet as one level on the LR grid: `unet_blocks` annealed blocks in three runs.

    The runs are named as the full UNet's stages (`down`, `mid`, `up`), so multi-layer feature
    distillation taps the same three depths; attention (when level 0 has it) sits mid-way.
    With `half_blocks`, that many of the middle blocks run on the LR/2 grid (HalfLevel).
    """

    def __init__(self, cfg: NetConfig, heavy: bool = True) -> None:
        super().__init__()
        c = cfg.latent_channels
        n = cfg.unet_blocks
        if n < 3:
            raise ValueError(f"the stack UNet needs at least 3 blocks, got {n}")
        first, second = n // 3, n - 2 * (n // 3)
        self.down = nn.ModuleList([nn.Sequential(*[_block(c, cfg, heavy) for _ in range(first)])])
        half = cfg.half_blocks
        if not 0 <= half <= second:
            raise ValueError(f"half_blocks must be 0..{second} for {n} blocks, got {half}")
        mid: list[nn.Module] = [_block(c, cfg, heavy) for _ in range(second - half)]
        if 0 in cfg.attention_levels:
            # Annealed into a skip: the pruned stack keeps no attention at all (a local gate
            # in its place cost 8 % of the student's training speed).
            attn = Annealed(
                HeavyAttention(c, cfg.groups) if heavy else None, light_attention(cfg, c)
            )
            mid.insert(len(mid) // 2, attn)
        if half:
            w = cfg.half_channels
            inner = [_block(w, cfg, heavy) for _ in range(half)]
            mid.insert(len(mid) // 2, HalfLevel(c, w, inner))
        self.mid = nn.Sequential(*mid)
        self.up = nn.ModuleList([nn.Sequential(*[_block(c, cfg, heavy) for _ in range(first)])])
        self.conv_out = nn.Sequential(act(), nn.Conv2d(c, c, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The update of the latent (x0 = z + this, or the noise prediction)."""
        return self.conv_out(self.up[0](self.mid(self.down[0](z))))

    def annealed(self) -> list[Annealed]:
        """Every heavy/light pair in the stack."""
        return [m for m in self.modules() if isinstance(m, Annealed)]
