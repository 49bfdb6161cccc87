"""The distillation teacher: an RRDB network (ESRGAN's generator) filled from ncnn weights.

Real-ESRGAN x4plus is an RRDB net: a 3x3 head, 23 residual-in-residual dense blocks (three
five-conv dense blocks each, residuals scaled by 0.2), a 3x3 trunk conv with a long skip, two
nearest-neighbour x2 upsamples each followed by a conv, and two output convs; LeakyReLU 0.2.
The weights come from the installed package that ships them (never from this repository),
read with the engine's ncnn reader and checked layer by layer against the expected structure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..engine.convert import PEERS
from ..engine.errors import ModelError
from ..engine.ncnn import NcnnGraph, load_ncnn

X4PLUS_STEM = PEERS["realesrgan-x4plus"].stem
LEAK = 0.2
RESIDUAL_SCALE = 0.2


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, LEAK)


class DenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the block input and every earlier output."""

    def __init__(self, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(feat + i * grow, grow if i < 4 else feat, 3, padding=1) for i in range(5)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Dense update, residual scaled by 0.2."""
        seen = [x]
        for i, conv in enumerate(self.convs):
            out = conv(torch.cat(seen, 1))
            if i < 4:
                seen.append(_lrelu(out))
        return out * RESIDUAL_SCALE + x


class RRDB(nn.Module):
    """Three dense blocks in a residual, scaled by 0.2."""

    def __init__(self, feat: int = 64, grow: int = 32) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(DenseBlock(feat, grow) for _ in range(3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual-in-residual update."""
        return self.blocks(x) * RESIDUAL_SCALE + x


class RRDBNet(nn.Module):
    """The x4 RRDB generator; input RGB 0..1, output RGB (unclamped)."""

    def __init__(self, feat: int = 64, blocks: int = 23, grow: int = 32) -> None:
        super().__init__()
        self.head = nn.Conv2d(3, feat, 3, padding=1)
        self.trunk = nn.ModuleList(RRDB(feat, grow) for _ in range(blocks))
        self.trunk_out = nn.Conv2d(feat, feat, 3, padding=1)
        self.up1 = nn.Conv2d(feat, feat, 3, padding=1)
        self.up2 = nn.Conv2d(feat, feat, 3, padding=1)
        self.hr = nn.Conv2d(feat, feat, 3, padding=1)
        self.last = nn.Conv2d(feat, 3, 3, padding=1)

    def features(
        self, lr: torch.Tensor, taps: Sequence[int] = ()
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Upscale, also returning the trunk features after the given RRDB indices (0-based)."""
        head = self.head(lr)
        h = head
        tapped = []
        for i, block in enumerate(self.trunk):
            h = block(h)
            if i in taps:
                tapped.append(h)
        h = head + self.trunk_out(h)
        h = _lrelu(self.up1(F.interpolate(h, scale_factor=2, mode="nearest")))
        h = _lrelu(self.up2(F.interpolate(h, scale_factor=2, mode="nearest")))
        return self.last(_lrelu(self.hr(h))), tapped

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """Upscale x4."""
        return self.features(lr)[0]


def _expected_activations(net: RRDBNet) -> list[bool]:
    """For each conv in registration order: is it followed by a LeakyReLU (fused in ncnn)?"""
    flags = [False]  # head
    for _ in net.trunk:
        flags += [True, True, True, True, False] * 3
    return [*flags, False, True, True, True, False]  # trunk_out, up1, up2, hr, last


def load_ncnn_weights(net: RRDBNet, graph: NcnnGraph) -> RRDBNet:
    """Copy an ncnn RRDB model's weights into `net`, refusing any structural mismatch."""
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    layers = graph.of_type("Convolution")
    if len(layers) != len(convs):
        raise ModelError(f"the ncnn model has {len(layers)} convolutions, RRDBNet {len(convs)}.")
    for conv, layer, lrelu in zip(convs, layers, _expected_activations(net), strict=True):
        w = layer.weights["weight"]
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise ModelError(
                f"{layer.name}: shape {w.shape} but RRDBNet expects {conv.weight.shape}"
            )
        act = int(layer.param(9, 0))
        slope = layer.param(10, (0.0,))[0] if act == 2 else None
        if (act == 2 and abs(slope - LEAK) < 1e-6) != lrelu or act not in (0, 2):
            raise ModelError(f"{layer.name}: activation {act} does not match the RRDB structure.")
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w))
            conv.bias.copy_(torch.from_numpy(layer.weights["bias"]))
    if [ly.param(0) for ly in graph.of_type("Interp")] != [1, 1]:
        raise ModelError("the ncnn model's upsampling is not two nearest-neighbour x2 steps.")
    return net


def x4plus_files() -> tuple[Path, Path]:
    """The (.param, .bin) of Real-ESRGAN x4plus: in $POCKETSR_TEACHER_DIR, else in its package."""
    override = os.environ.get("POCKETSR_TEACHER_DIR")
    if override:
        param, binary = (Path(override) / f"{X4PLUS_STEM}{ext}" for ext in (".param", ".bin"))
        if not (param.is_file() and binary.is_file()):
            raise ModelError(f"POCKETSR_TEACHER_DIR={override} lacks {X4PLUS_STEM}.param/.bin.")
        return param, binary
    return PEERS["realesrgan-x4plus"].files()


def load_x4plus() -> RRDBNet:
    """Real-ESRGAN x4plus as a frozen PyTorch module (eval mode, no gradients)."""
    net = load_ncnn_weights(RRDBNet(), load_ncnn(*x4plus_files()))
    return net.eval().requires_grad_(False)
