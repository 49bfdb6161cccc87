"""LiteED: the light convolutional encoder/decoder around the latent (no normalisation)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import LightResBlock, act


class Features:
    """What an encoder hands on: the latent and the fusion features (LR grid, latent grid)."""

    __slots__ = ("fine", "latent", "mid")

    def __init__(self, latent: torch.Tensor, fine: torch.Tensor, mid: torch.Tensor) -> None:
        self.latent = latent
        self.fine = fine
        self.mid = mid


def _stage(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
        act(),
        nn.Conv2d(cout, cout, 3, padding=1),
        act(),
    )


class LREncoder(nn.Module):
    """Encodes the LR image straight onto the latent grid (LR/stride: LR/2 = HR/8 for x4)."""

    def __init__(self, channels: tuple[int, int], latent: int, stride: int = 2) -> None:
        super().__init__()
        c0, c1 = channels
        self.fine = _stage(3, c0)
        self.mid = _stage(c0, c1, stride=stride)
        self.to_latent = nn.Conv2d(c1, latent, 3, padding=1)

    def forward(self, x: torch.Tensor) -> Features:
        """LR image (0..1) -> latent + fusion features."""
        fine = self.fine(x * 2 - 1)
        mid = self.mid(fine)
        return Features(self.to_latent(mid), fine, mid)


class HREncoder(nn.Module):
    """Encodes an HR-sized image onto HR/8: the autoencoder's encoder (and the ablation's)."""

    def __init__(
        self, channels: tuple[int, int], latent: int, scale: int = 4, stride: int = 2
    ) -> None:
        super().__init__()
        c0, c1 = channels
        steps = []
        cin = 3
        # Down to the LR grid (HR / scale) with cheap strided stages.
        for _ in range(scale.bit_length() - 1):
            steps.append(_stage(cin, c0 // 2 if cin == 3 else c0, stride=2))
            cin = steps[-1][2].out_channels
        self.down = nn.Sequential(*steps)
        self.fine = _stage(cin, c0)
        self.mid = _stage(c0, c1, stride=stride)
        self.to_latent = nn.Conv2d(c1, latent, 3, padding=1)

    def forward(self, x: torch.Tensor) -> Features:
        """HR image (0..1) -> latent + fusion features on the same grids as the LR encoder."""
        fine = self.fine(self.down(x * 2 - 1))
        mid = self.mid(fine)
        return Features(self.to_latent(mid), fine, mid)


class Decoder(nn.Module):
    """Latent -> HR image, fusing encoder features on the latent and LR grids when given.

    `latent_stride` 2: the latent is on LR/2 (= HR/8 for x4) and is upsampled x2 to the LR grid
    by a pixel shuffle; 1: it is already on the LR grid and a conv takes it to the fine width.
    """

    def __init__(
        self,
        latent: int,
        channels: tuple[int, int],
        enc_channels: tuple[int, int],
        scale: int = 4,
        blocks: int = 2,
        fusion: bool = True,
        latent_stride: int = 2,
        light_kind: str = "dw",
    ) -> None:
        super().__init__()
        d1, d0 = channels
        self.scale = scale
        self.fusion = fusion
        self.inp = nn.Sequential(nn.Conv2d(latent, d1, 3, padding=1), act())
        self.fuse_mid = nn.Conv2d(enc_channels[1], d1, 1) if fusion else None
        self.body_mid = nn.Sequential(*[LightResBlock(d1, kind=light_kind) for _ in range(blocks)])
        if latent_stride == 2:
            self.up = nn.Sequential(nn.Conv2d(d1, d0 * 4, 3, padding=1), nn.PixelShuffle(2), act())
        elif latent_stride == 1:
            self.up = nn.Sequential(nn.Conv2d(d1, d0, 3, padding=1), act())
        else:
            raise ValueError(f"unsupported latent stride {latent_stride}")
        self.fuse_fine = nn.Conv2d(enc_channels[0], d0, 1) if fusion else None
        self.body_fine = nn.Sequential(*[LightResBlock(d0, kind=light_kind) for _ in range(blocks)])
        self.out = nn.Sequential(
            nn.Conv2d(d0, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)
        )

    def forward(
        self, z: torch.Tensor, feats: Features | None, base: torch.Tensor | None
    ) -> torch.Tensor:
        """Decode; `base` is the upsampled LR image the output is a residual over (or None)."""
        h = self.inp(z)
        if self.fuse_mid is not None and feats is not None:
            h = h + self.fuse_mid(feats.mid)
        h = self.up(self.body_mid(h))
        if self.fuse_fine is not None and feats is not None:
            h = h + self.fuse_fine(feats.fine)
        out = self.out(self.body_fine(h))
        return out if base is None else out + base


def _cubic(t: torch.Tensor, a: float = -0.75) -> torch.Tensor:
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def bicubic_phase_kernels(scale: int, channels: int = 3) -> torch.Tensor:
    """Grouped-conv weights whose pixel shuffle is a bicubic (a = -0.75) upsample by `scale`.

    Output row scale*i + p samples the LR grid at i + (p + 0.5) / scale - 0.5 (half-pixel
    centres, as F.interpolate does); each of the scale² phases is a separable filter over
    the 5x5 LR neighbourhood (for scale <= 4). Shape (channels * scale², 1, 5, 5).
    """
    offsets = torch.arange(-2, 3, dtype=torch.float64)
    taps = []
    for p in range(scale):
        pos = (p + 0.5) / scale - 0.5
        taps.append(_cubic(offsets - pos))
    taps = torch.stack(taps)  # (scale, 5): weight of LR offset -2..2 for each output phase
    phases = torch.einsum("pi,qj->pqij", taps, taps).reshape(scale * scale, 1, 5, 5)
    return phases.repeat(channels, 1, 1, 1).float()


class BaseUpsample(nn.Module):
    """The upsample (bilinear or bicubic) of the LR image the decoder adds its residual to.

    Bicubic runs as a fixed grouped 5x5 conv and a pixel shuffle: the same values as
    F.interpolate (edges replicated alike), but several times faster in ONNX Runtime, whose
    cubic Resize took 42 % of the whole network's time.
    """

    def __init__(self, scale: int, mode: str = "bilinear", channels: int = 3) -> None:
        super().__init__()
        self.scale, self.mode, self.channels = scale, mode, channels
        self.fast = mode == "bicubic" and scale <= 4
        weight = bicubic_phase_kernels(scale, channels) if self.fast else torch.zeros(0)
        self.register_buffer("weight", weight, persistent=False)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """Upsample by the scale."""
        if not self.fast:
            return F.interpolate(lr, scale_factor=self.scale, mode=self.mode, align_corners=False)
        out = F.conv2d(_replicate2(lr), self.weight.to(lr.dtype), groups=self.channels)
        return F.pixel_shuffle(out, self.scale)


def _replicate2(x: torch.Tensor) -> torch.Tensor:
    """Two pixels of edge replication on each side (as concatenations: they export cleanly)."""
    x = torch.cat([x[:, :, :1], x[:, :, :1], x, x[:, :, -1:], x[:, :, -1:]], dim=2)
    return torch.cat([x[..., :1], x[..., :1], x, x[..., -1:], x[..., -1:]], dim=3)
