"""The one-step UNet on the latent grid: heavy modules that can be annealed into light ones."""

from __future__ import annotations

import torch
from torch import nn

from .blocks import Annealed, HeavyAttention, HeavyResBlock, LightAttention, LightResBlock
from .config import NetConfig


def _res(c: int, cfg: NetConfig, heavy: bool) -> Annealed:
    return Annealed(
        HeavyResBlock(c, cfg.groups) if heavy else None,
        None if heavy else LightResBlock(c, cfg.light_expand, cfg.light_kind),
    )


def _attn(c: int, cfg: NetConfig, heavy: bool) -> Annealed:
    return Annealed(
        HeavyAttention(c, cfg.groups) if heavy else None,
        None if heavy else LightAttention(c),
    )


class UNet(nn.Module):
    """Predicts the noise of the latent at the fixed timestep (no text, no time embedding)."""

    def __init__(self, cfg: NetConfig, heavy: bool = True) -> None:
        super().__init__()
        chans = cfg.unet_channels
        lat = cfg.latent_channels
        self.conv_in = nn.Conv2d(lat, chans[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for level, c in enumerate(chans):
            blocks = [_res(c, cfg, heavy) for _ in range(cfg.unet_blocks)]
            if level in cfg.attention_levels:
                blocks.append(_attn(c, cfg, heavy))
            self.down.append(nn.Sequential(*blocks))
            if level + 1 < len(chans):
                self.downsample.append(nn.Conv2d(c, chans[level + 1], 3, stride=2, padding=1))
        top = chans[-1]
        mid = [_res(top, cfg, heavy)]
        if cfg.attention_levels:
            mid.append(_attn(top, cfg, heavy))
        mid.append(_res(top, cfg, heavy))
        self.mid = nn.Sequential(*mid)
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in reversed(range(len(chans))):
            c = chans[level]
            self.merge.append(nn.Conv2d(2 * c, c, 1))
            blocks = [_res(c, cfg, heavy) for _ in range(cfg.unet_blocks)]
            self.up.append(nn.Sequential(*blocks))
            if level > 0:
                self.upsample.append(
                    nn.Sequential(
                        nn.Upsample(scale_factor=2, mode="nearest"),
                        nn.Conv2d(c, chans[level - 1], 3, padding=1),
                    )
                )
        self.conv_out = nn.Sequential(nn.SiLU(), nn.Conv2d(chans[0], lat, 3, padding=1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Noise prediction for the latent z_t."""
        h = self.conv_in(z)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h)
        for i, block in enumerate(self.up):
            h = self.merge[i](torch.cat([h, skips.pop()], dim=1))
            h = block(h)
            if i < len(self.upsample):
                h = self.upsample[i](h)
        return self.conv_out(h)

    def annealed(self) -> list[Annealed]:
        """Every heavy/light pair in the UNet."""
        return [m for m in self.modules() if isinstance(m, Annealed)]
