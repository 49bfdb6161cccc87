"""Spectrally normalised discriminators: a U-Net (a real/fake logit per pixel) and a light
patch discriminator (a logit per 8x8 patch, about 7x fewer MACs: the CPU's choice)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import spectral_norm


class UNetDiscriminator(nn.Module):
    """Three strided levels down, three up with skips, one logit per pixel."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        c = channels
        self.conv0 = nn.Conv2d(3, c, 3, padding=1)
        self.down = nn.ModuleList(
            spectral_norm(nn.Conv2d(a, b, 4, stride=2, padding=1, bias=False))
            for a, b in ((c, 2 * c), (2 * c, 4 * c), (4 * c, 8 * c))
        )
        self.up = nn.ModuleList(
            spectral_norm(nn.Conv2d(a, b, 3, padding=1, bias=False))
            for a, b in ((8 * c, 4 * c), (4 * c, 2 * c), (2 * c, c))
        )
        self.tail = nn.Sequential(
            spectral_norm(nn.Conv2d(c, c, 3, padding=1, bias=False)),
            nn.LeakyReLU(0.2),
            nn.Conv2d(c, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-pixel logits for an image in 0..1."""
        h = F.leaky_relu(self.conv0(x * 2 - 1), 0.2)
        skips = [h]
        for conv in self.down:
            h = F.leaky_relu(conv(h), 0.2)
            skips.append(h)
        skips.pop()
        for conv in self.up:
            h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            h = F.leaky_relu(conv(h), 0.2) + skips.pop()
        return self.tail(h)


class PatchDiscriminator(nn.Module):
    """Three stride-2 4x4 convs and a 3x3 head: one logit per 8x8 patch of the image.

    About 74 M MACs for a 128x128 crop against the U-Net's 500 M: on a CPU the adversarial
    stage then runs at a useful share of the plain stage's speed.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        c = channels
        self.body = nn.Sequential(
            nn.Conv2d(3, c, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1, bias=False)),
            nn.LeakyReLU(0.2),
            spectral_norm(nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1, bias=False)),
            nn.LeakyReLU(0.2),
            nn.Conv2d(4 * c, 1, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Per-patch logits for an image in 0..1."""
        return self.body(x * 2 - 1)


DISCRIMINATORS = {"unet": UNetDiscriminator, "patch": PatchDiscriminator}
