"""The plain baseline PocketSR must beat: a residual conv stack + pixel shuffle + bilinear skip."""

from __future__ import annotations

import torch
from torch import nn

from .liteed import BaseUpsample
from .network import kaiming_init


class PlainSR(nn.Module):
    """conv, N x (conv, SiLU), conv to 3*s*s, pixel shuffle; added to the bicubic upsample."""

    def __init__(
        self, channels: int = 48, layers: int = 6, scale: int = 4, init: str = "default"
    ) -> None:
        super().__init__()
        self.scale = scale
        body: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1), nn.SiLU()]
        for _ in range(layers):
            body += [nn.Conv2d(channels, channels, 3, padding=1), nn.SiLU()]
        body += [nn.Conv2d(channels, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale)]
        self.body = nn.Sequential(*body)
        self.base = BaseUpsample(scale, "bicubic")
        if init == "kaiming":  # the same start as PocketSR's: variance kept, output at zero
            kaiming_init(self)
            nn.init.zeros_(self.body[-2].weight)
        elif init != "default":
            raise ValueError(f"unknown init {init!r}")

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """Super-resolve a batch of LR images."""
        return self.body(lr * 2 - 1) + self.base(lr)
