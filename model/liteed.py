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


def upsample_base(lr: torch.Tensor, scale: int, mode: str = "bilinear") -> torch.Tensor:
    """The upsample (bilinear or bicubic) of the LR image the decoder adds its residual to."""
    return F.interpolate(lr, scale_factor=scale, mode=mode, align_corners=False)
