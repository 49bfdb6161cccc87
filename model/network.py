"""PocketSR: LiteED encoder -> one UNet pass at a fixed timestep (x0 from eps) -> LiteED decoder."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .blocks import Annealed, HeavyAttention, HeavyResBlock, LightAttention, LightResBlock
from .config import NetConfig
from .liteed import BaseUpsample, Decoder, HREncoder, LREncoder
from .stack import HalfLevel, StackDecoder, StackEncoder, StackUNet, light_attention
from .unet import UNet


def alpha_bar(cfg: NetConfig) -> float:
    """Cumulative signal fraction at the fixed timestep (Stable Diffusion's scaled-linear betas)."""
    # On the CPU explicitly: under a `torch.device("meta")` context the float() would fail.
    betas = torch.linspace(
        cfg.beta_start**0.5,
        cfg.beta_end**0.5,
        cfg.num_train_timesteps,
        dtype=torch.float64,
        device="cpu",
    ).square()
    return float(torch.cumprod(1 - betas, 0)[cfg.timestep])


def make_decoder(cfg: NetConfig) -> Decoder:
    """The LiteED decoder a configuration describes (shared by the SR model and stage ae)."""
    return Decoder(
        cfg.latent_channels,
        cfg.dec_channels,
        cfg.enc_channels,
        cfg.scale,
        cfg.dec_blocks,
        cfg.fusion,
        cfg.latent_stride,
        cfg.light_kind,
    )


def make_lr_encoder(cfg: NetConfig) -> nn.Module:
    """The LiteED encoder of the UNet shape, by where its latent lives."""
    if cfg.latent_grid in ("lr_half", "lr"):
        return LREncoder(cfg.enc_channels, cfg.latent_channels, cfg.latent_stride)
    if cfg.latent_grid == "upsample":
        return HREncoder(cfg.enc_channels, cfg.latent_channels, cfg.scale)
    raise ValueError(f"unknown latent_grid {cfg.latent_grid!r}")


def zero_init_residuals(module: nn.Module) -> None:
    """Zero the last layer of every residual branch below `module` (blocks start as identity)."""
    for m in module.modules():
        if isinstance(m, LightResBlock | HeavyResBlock):
            last = m.body[-1]
        elif isinstance(m, LightAttention):
            last = m.proj
        elif isinstance(m, HalfLevel):
            last = m.up[0]
        else:
            continue
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)


def kaiming_init(model: nn.Module) -> None:
    """Variance-preserving start: Kaiming-normal convs, residual branches and the output at 0.

    With PyTorch's default init a signal shrinks about 3x in variance per conv (the latent
    starts at std 0.03 against 0.26 here). Measured from scratch in 12 minutes: +0.25 / +0.18
    dB on (a) for the nano, +0.45 / +0.34 for the plain stack (docs/ARCHITECTURE.md).
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    zero_init_residuals(model)
    decoder = getattr(model, "decoder", None)
    if decoder is not None:
        nn.init.zeros_(decoder.out[0].weight)
        nn.init.zeros_(decoder.out[0].bias)


# The `init` values that start from kaiming_init ("kaiming_quiet" also silences the UNet).
KAIMING_STARTS = ("kaiming", "kaiming_quiet")


def quiet_unet(model: nn.Module) -> None:
    """Start the UNet's output at zero, so the latent path does not begin as loud noise.

    A random UNet's eps times 1/sqrt(alpha_bar) = 14.6 makes x0 about 180x louder than the
    encoder's fusion features at the Kaiming start (x0 std 58 against 0.32).
    """
    last = model.unet.conv_out[-1]
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)


class PocketSR(nn.Module):
    """The one-step super-resolution network; input LR RGB 0..1, output xscale RGB (unclamped)."""

    def __init__(self, cfg: NetConfig, heavy: bool = True) -> None:
        super().__init__()
        self.cfg = cfg
        if cfg.shape == "stack":
            self.encoder: nn.Module = StackEncoder(cfg.latent_channels)
            self.unet: nn.Module = StackUNet(cfg, heavy=heavy)
            self.decoder: nn.Module = StackDecoder(cfg.latent_channels, cfg.scale)
        elif cfg.shape == "unet":
            self.encoder = make_lr_encoder(cfg)
            self.unet = UNet(cfg, heavy=heavy)
            self.decoder = make_decoder(cfg)
        else:
            raise ValueError(f"unknown network shape {cfg.shape!r}")
        self.base = BaseUpsample(cfg.scale, cfg.base_upsample)
        abar = alpha_bar(cfg)
        self.register_buffer("inv_sqrt_abar", torch.tensor(1 / math.sqrt(abar)))
        self.register_buffer("sqrt_one_minus_abar", torch.tensor(math.sqrt(1 - abar)))
        if cfg.init in KAIMING_STARTS:
            kaiming_init(self)
            if cfg.init == "kaiming_quiet":
                quiet_unet(self)
        elif cfg.init != "default":
            raise ValueError(f"unknown init {cfg.init!r}")
        if cfg.zero_init:
            zero_init_residuals(self)

    def encode(self, lr: torch.Tensor):
        """LR image -> encoder features (the latent z_t among them)."""
        x = lr
        if self.cfg.latent_grid == "upsample":
            x = F.interpolate(lr, scale_factor=self.cfg.scale, mode="bicubic", align_corners=False)
        return self.encoder(x)

    def denoise(self, z: torch.Tensor) -> torch.Tensor:
        """One step: predict the noise and recover the clean latent x0 (or predict x0 directly)."""
        if self.cfg.prediction == "x0":
            return z + self.unet(z)
        eps = self.unet(z)
        return (z - self.sqrt_one_minus_abar * eps) * self.inv_sqrt_abar

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        """Super-resolve a batch of LR images."""
        feats = self.encode(lr)
        z0 = self.denoise(feats.latent)
        return self.decoder(z0, feats, self.base(lr))

    def annealed(self) -> list[Annealed]:
        """Every heavy/light pair in the network."""
        return self.unet.annealed()

    def distill_taps(self) -> list[nn.Module]:
        """Three student depths on the LR grid, matched to x4plus's trunk in stage detail."""
        if self.cfg.shape == "stack":
            return [self.unet.down[0], self.unet.mid, self.unet.up[0]]
        return [self.unet.down[0], self.unet.up[-1], self.decoder.body_fine]

    def distill_widths(self) -> list[int]:
        """The channel counts of `distill_taps`, in order."""
        cfg = self.cfg
        if cfg.shape == "stack":
            return [cfg.latent_channels] * 3
        return [cfg.unet_channels[0], cfg.unet_channels[0], cfg.dec_channels[1]]


def attach_light(model: PocketSR) -> None:
    """Give every heavy module a fresh light counterpart (student = teacher + light)."""
    cfg = model.cfg
    for pair in model.annealed():
        if pair.light is not None:
            continue
        heavy = pair.heavy
        if isinstance(heavy, HeavyResBlock):
            channels = heavy.body[2].in_channels
            pair.light = LightResBlock(channels, cfg.light_expand, cfg.light_kind)
        elif isinstance(heavy, HeavyAttention):
            pair.light = light_attention(cfg, heavy.proj.in_channels)
        else:
            raise TypeError(f"no light counterpart known for {type(heavy).__name__}")
        if cfg.init in KAIMING_STARTS:
            kaiming_init(pair.light)
        if cfg.zero_init:
            zero_init_residuals(pair.light)
        pair.light.to(pair.alpha.device)
        pair.set_alpha(0.0)


def prune_heavy(model: PocketSR) -> None:
    """Drop every heavy module: the network becomes local and tile-safe."""
    for pair in model.annealed():
        pair.prune()


def is_tile_safe(model: nn.Module) -> bool:
    """True when no module computes statistics or attention over the spatial dimensions."""
    spatial = (nn.GroupNorm, nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm, HeavyAttention)
    spatial += (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    return not any(isinstance(m, spatial) for m in model.modules())


class AutoEncoder(nn.Module):
    """Stage 1: LiteED as an autoencoder of HR crops (HR -> HR/8 latent -> HR)."""

    def __init__(self, cfg: NetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = HREncoder(
            cfg.enc_channels, cfg.latent_channels, cfg.scale, cfg.latent_stride
        )
        self.decoder = make_decoder(cfg)
        self.base = BaseUpsample(cfg.scale, cfg.base_upsample)

    def forward(self, hr: torch.Tensor) -> torch.Tensor:
        """Reconstruct HR on top of the upsampled clean LR (as the SR decoder will)."""
        feats = self.encoder(hr)
        lr = F.interpolate(hr, scale_factor=1 / self.cfg.scale, mode="area")
        return self.decoder(feats.latent, feats, self.base(lr))
