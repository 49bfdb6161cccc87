"""Network and training configurations, read from the TOML files in model/configs/."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomllib

CONFIG_DIR = Path(__file__).with_name("configs")


@dataclass(frozen=True)
class NetConfig:
    """The shape of a PocketSR network (LiteED widths, UNet widths, one-step timestep)."""

    name: str = "pocketsr-nano"
    scale: int = 4
    latent_channels: int = 4
    # LiteED encoder widths at LR and LR/2 (the latent grid, = HR/8 for x4).
    enc_channels: tuple[int, int] = (24, 32)
    # LiteED decoder widths at LR/2 and LR resolution.
    dec_channels: tuple[int, int] = (48, 32)
    dec_blocks: int = 2
    # UNet widths per level (level 0 runs on the latent grid) and residual blocks per level.
    unet_channels: tuple[int, ...] = (32, 64)
    unet_blocks: int = 1
    attention_levels: tuple[int, ...] = (1,)
    groups: int = 8
    # Hidden width multiplier of the light (annealed-into) blocks.
    light_expand: float = 1.0
    # Light residual block body: "dw" (depthwise-separable), "conv" (two dense 3x3 convs,
    # fewer and larger kernels: faster per MAC on CPUs and quicker to learn) or "single" (one
    # dense 3x3 conv: the stack shape's layer).
    light_kind: str = "dw"
    # "unet": the LiteED encoder/decoder around a multi-level UNet on the latent grid; "stack"
    # (model/stack.py): a one-conv encoder, `unet_blocks` annealed blocks on the LR grid at
    # `latent_channels` wide, a pixel-shuffle decoder (the enc/dec/unet widths and
    # latent_grid are then unused).
    shape: str = "unet"
    # The stack shape only: how many of its middle blocks run on the LR/2 grid, and how wide
    # (model/stack.py HalfLevel; 0 keeps every block on the LR grid).
    half_blocks: int = 0
    half_channels: int = 96
    # Multi-scale fusion of encoder features into the decoder.
    fusion: bool = True
    # "lr_half": encode LR straight onto the HR/8 grid; "upsample": bicubic x4 first, then
    # encode HR -> HR/8 with a deeper encoder (the OSEDiff way; the ablation); "lr": the latent
    # stays on the LR grid (no lossy 2x2 squeeze before the UNet; see docs/ARCHITECTURE.md).
    latent_grid: str = "lr_half"
    # The upsample of the LR image the decoder's output is a residual over.
    base_upsample: str = "bilinear"
    # One-step diffusion: the UNet predicts the noise ("eps": x0 recovered from it at the fixed
    # timestep, the paper's way) or the clean latent as a residual ("x0": z0 = z + UNet(z),
    # the ablation); the fixed timestep and the schedule it is read from.
    prediction: str = "eps"
    # Start every residual branch (light and heavy blocks, light attention) at zero, so a
    # fresh block is the identity and the deep, normalisation-free student trains like a
    # shallow one at first.
    zero_init: bool = False
    # "default": PyTorch's conv init (its variance shrinks about 3x per conv); "kaiming":
    # variance-preserving convs with every residual branch and the decoder's output at zero
    # (the start is the bicubic base; the equal-budget ablation of docs/ARCHITECTURE.md);
    # "kaiming_quiet": the same with the UNet's output at zero too (eps = 0 at the start, or
    # x0 = z with prediction "x0"), so the latent path does not begin as loud noise.
    init: str = "default"
    timestep: int = 999
    beta_start: float = 0.00085
    beta_end: float = 0.012
    num_train_timesteps: int = 1000

    @property
    def size_multiple(self) -> int:
        """LR sizes must be multiples of this (the latent grid's stride, x2 per extra UNet level).

        "lr_half" and "upsample" land on HR/8 = LR/2 ("upsample" encodes the x4 image down by
        8); "lr" keeps the latent on the LR grid.
        """
        if self.shape == "stack":
            return 2 if self.half_blocks else 1
        levels = len(self.unet_channels) - 1
        return self.latent_stride * (2**levels)

    @property
    def latent_stride(self) -> int:
        """LR pixels per latent pixel along each axis."""
        return 1 if self.latent_grid == "lr" or self.shape == "stack" else 2


@dataclass(frozen=True)
class StageConfig:
    """One training stage's hyper-parameters."""

    steps: int = 1000
    batch: int = 16
    hr_crop: int = 128
    lr: float = 2e-4
    betas: tuple[float, float] = (0.9, 0.99)
    ema: float = 0.999
    # Loss weights (unused ones stay 0).
    l1: float = 1.0
    latent: float = 0.0
    feature: float = 0.0
    distill: float = 0.0
    gan: float = 0.0
    # The adversarial stage's discriminator: "unet" (per pixel) or "patch" (per 8x8 patch,
    # about 7x cheaper; see model/discriminator.py).
    disc: str = "unet"
    # L1 against the distillation teacher's output (stage "detail").
    teacher_l1: float = 0.0
    # Weight of the pixel-shuffle grid in the error (losses.phase_pattern_loss), against the
    # stage's target (the teacher's output in stage "detail", else the ground truth).
    grid: float = 0.0
    # Stage "refine" with --partner (the detail weights): the share of steps that train the
    # strength mix instead of this end, at a strength drawn evenly from 0..1, toward the same
    # mix of the ground truth and the teacher's output on the teacher cache's pairs (this end
    # keeps its stage's own pairs; model/mixing.py).
    mix: float = 0.0
    # Share of pairs whose LR is a plain bicubic downscale instead of the realistic degradation.
    clean_fraction: float = 0.1
    # Share of pairs whose LR had one mild pass (light blur, noise, JPEG) instead.
    mild_fraction: float = 0.0
    # Annealing (stage "prune"): heavy -> light mixing reaches 1 at this fraction of the steps.
    anneal_end: float = 0.6
    log_every: int = 50
    ckpt_every: int = 200


@dataclass(frozen=True)
class RecipeConfig:
    """A whole recipe: the network, the data and every stage."""

    net: NetConfig = field(default_factory=NetConfig)
    stages: dict[str, StageConfig] = field(default_factory=dict)
    seed: int = 0
    pool_size: int = 2000
    pool_refresh: int = 0
    # The plain conv baseline's shape (stage plain): width and number of hidden 3x3 convs.
    plain_channels: int = 48
    plain_layers: int = 6


def _coerce(cls: type, data: dict[str, Any]) -> Any:
    """Build a dataclass from a TOML table, turning lists into tuples and rejecting typos."""
    known = {f.name: f for f in fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**values)


def load_recipe(name_or_path: str | Path, **net_overrides: Any) -> RecipeConfig:
    """Load a recipe TOML by name (model/configs/NAME.toml) or path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = CONFIG_DIR / f"{name_or_path}.toml"
    data = tomllib.loads(path.read_text())
    net = _coerce(NetConfig, data.get("net", {}))
    if net_overrides:
        net = replace(net, **net_overrides)
    defaults = data.get("stage_defaults", {})
    stages = {
        name: _coerce(StageConfig, {**defaults, **table})
        for name, table in data.get("stages", {}).items()
    }
    extra = {k: v for k, v in data.items() if k not in ("net", "stages", "stage_defaults")}
    return RecipeConfig(net=net, stages=stages, **extra)
