"""Counting parameters and multiply-accumulates per LR pixel of a network."""

from __future__ import annotations

import torch
from torch import nn


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


def macs_per_lr_pixel(model: nn.Module, lr_size: int = 64) -> float:
    """Multiply-accumulates of convolutions and linear layers per LR pixel (attention excluded)."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inp, out: torch.Tensor) -> None:
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1]
        total += out.numel() // out.shape[0] * (module.in_channels // module.groups) * k

    hooks = [
        m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv2d)
    ]
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(1, 3, lr_size, lr_size, device=device))
    finally:
        for h in hooks:
            h.remove()
    return total / (lr_size * lr_size)
