"""Training losses: pixel, feature (in LiteED's feature space), distillation, grid, GAN."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def feature_loss(encoder: nn.Module, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """L1 between the frozen autoencoder-encoder's features of SR and HR at two scales.

    No ImageNet VGG can be had here, so the perceptual term uses the LiteED encoder trained in
    stage 1 as its feature extractor.
    """
    fs, fh = encoder(sr), encoder(hr)
    return F.l1_loss(fs.fine, fh.fine) + F.l1_loss(fs.mid, fh.mid)


class FeatureTap:
    """Records the outputs of chosen submodules during a forward pass (for distillation)."""

    def __init__(self, modules: list[nn.Module]) -> None:
        self.outputs: list[torch.Tensor] = []
        self._hooks = [m.register_forward_hook(self._record) for m in modules]

    def _record(self, _module: nn.Module, _inp: object, out: torch.Tensor) -> None:
        self.outputs.append(out)

    def take(self) -> list[torch.Tensor]:
        """The recorded outputs since the last call, in call order."""
        out, self.outputs = self.outputs, []
        return out

    def close(self) -> None:
        """Remove the hooks."""
        for h in self._hooks:
            h.remove()


def distill_taps(unet: nn.Module) -> list[nn.Module]:
    """The UNet depths whose features the student must match: every down, mid and up stage."""
    return [*unet.down, unet.mid, *unet.up]


def distill_loss(student: list[torch.Tensor], teacher: list[torch.Tensor]) -> torch.Tensor:
    """Multi-layer feature distillation: mean L1 over the tapped depths, each normalised."""
    if len(student) != len(teacher):
        raise ValueError(f"tapped {len(student)} student vs {len(teacher)} teacher features")
    terms = [
        F.l1_loss(s, t.detach()) / (t.detach().abs().mean() + 1e-3)
        for s, t in zip(student, teacher, strict=True)
    ]
    return torch.stack(terms).mean()


def phase_pattern_loss(
    sr: torch.Tensor, target: torch.Tensor, scale: int = 4, window: int = 64
) -> torch.Tensor:
    """Mean square of the error's pattern locked to the x`scale` pixel-shuffle phases.

    Per window of `window` HR pixels, the error is averaged over each of the scale x scale
    output phases and the phases' common mean removed: what is left is a grid that repeats
    every `scale` pixels (the checkerboard a pixel shuffle leaves). The content error averages
    out of it, so its gradient is the grid's.
    """
    e = sr - target
    b, c, h, w = e.shape
    n = window // scale
    h, w = h // window * window, w // window * window
    e = e[:, :, :h, :w].reshape(b, c, h // window, n, scale, w // window, n, scale)
    phases = e.mean(dim=(3, 6))  # (b, c, windows down, scale, windows across, scale)
    pattern = phases - phases.mean(dim=(3, 5), keepdim=True)
    return pattern.square().mean()


def gan_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss on per-pixel discriminator logits."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def gan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss: real -> 1, fake -> 0, per pixel."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake
