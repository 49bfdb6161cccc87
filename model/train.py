"""The PocketSR training recipe: one command per stage, resumable, EMA, single process or torchrun.

    python -m pocketsr.model.train --recipe nano --stage ae --data DIR --out runs/nano
    torchrun --nproc_per_node 2 -m pocketsr.model.train --recipe nano --stage teacher ...

Stages: ae (LiteED autoencoder) -> teacher (heavy one-step model) -> prune (online annealing
into light modules + multi-layer feature distillation) -> refine (the pruned student fine-tuned
on ground truth: the fidelity weights) -> detail (refine's weights distilled from Real-ESRGAN
x4plus: the default weights; on a GPU the teacher runs live with trunk-feature distillation,
on a CPU its outputs come from the teacher-pair cache). `gan` is an optional adversarial
fine-tune after detail. `plain` trains the equal-cost residual conv baseline and `scratch` the
pruned student's architecture from scratch, on the same loop (the equal-budget comparison).
`all` runs ae..detail in order.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..engine.atomic_write import atomic_path
from . import losses
from .baseline import PlainSR
from .config import NetConfig, RecipeConfig, StageConfig, load_recipe
from .data import PairBatch, load_photos, make_pool
from .discriminator import DISCRIMINATORS
from .mixing import mixed_forward, partner_weights
from .network import AutoEncoder, PocketSR, attach_light, prune_heavy

STAGES = ("ae", "teacher", "prune", "refine", "detail")
# Student depths matched to the x4plus trunk (after these RRDB indices) in stage detail.
TEACHER_TAPS = (7, 15, 22)


@dataclass(frozen=True)
class Dist:
    """Where this process stands in a (possibly single-process) distributed run."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        """True on the rank that logs and writes checkpoints."""
        return self.rank == 0


def setup_dist(device: str) -> Dist:
    """Join the torchrun group when launched by torchrun, else a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if world > 1:
        torch.distributed.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    return Dist(rank, world, dev)


def wrap(model: nn.Module, dist: Dist) -> nn.Module:
    """DistributedDataParallel around the model when more than one process runs."""
    if dist.world == 1:
        return model
    ids = [dist.device.index] if dist.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (or the module itself)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


class EMA:
    """Exponential moving average of a model's parameters (buffers copied as they are)."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, decay: float | None = None) -> None:
        """Move the average toward the model."""
        d = self.decay if decay is None else decay
        src = dict(model.named_parameters())
        for name, p in self.model.named_parameters():
            p.lerp_(src[name].detach(), 1 - d)
        bufs = dict(model.named_buffers())
        for name, b in self.model.named_buffers():
            b.copy_(bufs[name])


class Pool:
    """The crop-pair pool on the training device, drawn from at random, refreshed on a schedule."""

    def __init__(self, photos, stage: StageConfig, recipe: RecipeConfig, dist: Dist, args) -> None:
        self.photos, self.stage, self.recipe, self.dist, self.args = (
            photos,
            stage,
            recipe,
            dist,
            args,
        )
        self.generation = 0
        self.gen = torch.Generator().manual_seed(recipe.seed * 7919 + dist.rank)
        self.refill()

    def refill(self) -> None:
        """Make a fresh pool of degraded pairs."""
        seed = (self.recipe.seed * 1000 + self.generation) * 64 + self.dist.rank
        size = self.args.pool_size or self.recipe.pool_size
        batch: PairBatch = make_pool(
            self.photos,
            size,
            self.stage.hr_crop,
            seed,
            self.recipe.net.scale,
            self.args.workers,
            self.stage.clean_fraction,
            self.stage.mild_fraction,
        )
        to = self.dist.device
        self.lr = torch.from_numpy(batch.lr).permute(0, 3, 1, 2).contiguous().to(to)
        self.hr = torch.from_numpy(batch.hr).permute(0, 3, 1, 2).contiguous().to(to)
        self.generation += 1

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch as float tensors in 0..1."""
        idx = torch.randint(0, self.lr.shape[0], (n,), generator=self.gen).to(self.lr.device)
        return self.lr[idx].float() / 255, self.hr[idx].float() / 255


class TeacherPool:
    """Pairs from the teacher-pair cache: (LR, HR, teacher output), reloaded on refresh."""

    def __init__(self, cache: Path, dist: Dist, seed: int) -> None:
        self.cache, self.dist = cache, dist
        self.gen = torch.Generator().manual_seed(seed * 7919 + dist.rank)
        self.refill()

    def refill(self) -> None:
        """(Re)load every cached pair: shards appended since the last load are picked up."""
        from . import teacher_cache

        pairs = teacher_cache.load(self.cache)
        to = self.dist.device

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous().to(to)

        self.lr, self.hr, self.teacher = tensor(pairs.lr), tensor(pairs.hr), tensor(pairs.teacher)

    def sample(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A random batch (LR, HR, teacher) as float tensors in 0..1, turned and flipped alike."""
        idx = torch.randint(0, self.lr.shape[0], (n,), generator=self.gen).to(self.lr.device)
        turn, flip = torch.randint(0, 4, (2,), generator=self.gen).tolist()

        def view(t: torch.Tensor) -> torch.Tensor:
            t = torch.rot90(t[idx], turn, dims=(2, 3))
            return (t.flip(3) if flip % 2 else t).float() / 255

        return view(self.lr), view(self.hr), view(self.teacher)


def make_adapters(model: PocketSR, teacher_channels: int = 64) -> nn.ModuleList:
    """1x1 convs taking each tapped student feature to the teacher's trunk width."""
    return nn.ModuleList(nn.Conv2d(c, teacher_channels, 1) for c in model.distill_widths())


def progress_fraction(
    step: int, elapsed: float, stage: StageConfig, minutes: float | None
) -> float:
    """How far the stage is: by steps, or by wall time when a time budget is given."""
    frac = step / stage.steps
    if minutes:
        frac = max(frac, elapsed / (minutes * 60))
    return min(1.0, frac)


def lr_at(stage: StageConfig, frac: float) -> float:
    """Cosine decay to 5% with a short warm-up."""
    warm = min(1.0, frac / 0.02)
    return stage.lr * warm * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))


def param_groups(model: nn.Module, extra: list[nn.Parameter]) -> list[dict]:
    """Adam's parameter groups: one per `lr_scale` that a module of `model` asks for (else 1)."""
    scale: dict[nn.Parameter, float] = {}
    for m in model.modules():
        s = getattr(m, "lr_scale", None)
        if s is not None:
            scale.update((p, float(s)) for p in m.parameters())
    groups: dict[float, list[nn.Parameter]] = {}
    for p in [*model.parameters(), *extra]:
        groups.setdefault(scale.get(p, 1.0), []).append(p)
    return [{"params": ps, "lr_scale": s} for s, ps in groups.items()]


def _ckpt(out: Path, stage: str, final: bool = False) -> Path:
    return out / (f"{stage}_final.pt" if final else f"{stage}.pt")


def save_atomic(obj: dict, path: Path) -> None:
    """torch.save through the engine's atomic write: a kill never leaves a broken checkpoint."""
    with atomic_path(path, overwrite=True) as tmp:
        torch.save(obj, tmp)


def load_final(out: Path, stage: str, map_location) -> dict | None:
    """The final checkpoint of an earlier stage, if it exists."""
    path = _ckpt(out, stage, final=True)
    return (
        torch.load(path, map_location=map_location, weights_only=False) if path.exists() else None
    )


def build_student(net: NetConfig, pruned: bool) -> PocketSR:
    """The prune-stage network: teacher modules with light counterparts (optionally pruned)."""
    model = PocketSR(net, heavy=True)
    attach_light(model)
    if pruned:
        prune_heavy(model)
    return model


def build_model(
    stage: str, net: NetConfig, ckpt: dict | None, recipe: RecipeConfig | None = None
) -> nn.Module:
    """The network a stage trains, in the structure its checkpoint (if any) was saved in."""
    recipe = recipe or RecipeConfig(net=net)
    if stage == "ae":
        return AutoEncoder(net)
    if stage == "teacher":
        return PocketSR(net, heavy=True)
    if stage == "prune":
        return build_student(net, pruned=bool(ckpt and ckpt.get("pruned")))
    if stage in ("refine", "detail", "gan", "scratch"):
        return build_student(net, pruned=True)
    if stage == "plain":
        return PlainSR(recipe.plain_channels, recipe.plain_layers, init=net.init)
    raise ValueError(f"unknown stage {stage!r}")


def init_from_previous(
    stage: str, model: nn.Module, out: Path, dev: torch.device, warm_start: bool = False
) -> dict:
    """Initialise a stage from the stages before it; returns the frozen helpers it needs.

    With `warm_start` the weights come from elsewhere (--init), so a missing earlier student
    stage is not an error.
    """
    helpers: dict = {}
    ae = load_final(out, "ae", dev)
    if ae is not None and stage in ("teacher", "prune", "refine", "detail", "gan"):
        auto = AutoEncoder(model.cfg).to(dev)
        auto.load_state_dict(ae["ema"])
        helpers["hr_encoder"] = auto.encoder.eval().requires_grad_(False)
        if stage == "teacher":
            model.decoder.load_state_dict(auto.decoder.state_dict())
            if model.cfg.latent_grid == "upsample":
                model.encoder.load_state_dict(auto.encoder.state_dict())
    if stage == "prune":
        teacher_ck = load_final(out, "teacher", dev)
        if teacher_ck is None:
            raise SystemExit("the prune stage needs teacher_final.pt: run --stage teacher first")
        teacher = PocketSR(model.cfg, heavy=True).to(dev)
        teacher.load_state_dict(teacher_ck["ema"])
        helpers["teacher"] = teacher.eval().requires_grad_(False)
        # The student starts as the teacher; its light modules start fresh.
        missing, unexpected = model.load_state_dict(teacher_ck["ema"], strict=False)
        if unexpected or any(".heavy." in k for k in missing):
            raise RuntimeError(f"teacher -> student mismatch: {missing[:3]} {unexpected[:3]}")
    if stage in ("refine", "detail", "gan"):
        # Each starts from the latest finished student of its lineage: refine from prune,
        # detail from refine (so the fidelity and detail weights interpolate), gan from detail.
        order = {"refine": ("prune",), "detail": ("refine",), "gan": ("detail", "refine")}[stage]
        start = next((ck for s in order if (ck := load_final(out, s, dev)) is not None), None)
        if start is None and not warm_start:
            raise SystemExit(f"the {stage} stage needs a finished {order[-1]} stage first")
        if start is not None:
            model.load_state_dict(start["ema"])
    return helpers


class StageRun:
    """One stage's training loop and state: resume, pruning and logging in one place."""

    def __init__(self, stage: str, recipe: RecipeConfig, args, dist: Dist) -> None:
        self.stage_name = stage
        self.recipe = recipe
        self.cfg: StageConfig = recipe.stages.get(stage, StageConfig())
        if args.steps:
            self.cfg = replace(self.cfg, steps=args.steps)
        if args.batch:
            self.cfg = replace(self.cfg, batch=args.batch)
        if args.hr_crop:
            self.cfg = replace(self.cfg, hr_crop=args.hr_crop)
        if getattr(args, "log_every", 0):
            self.cfg = replace(self.cfg, log_every=args.log_every)
        stage_fields = {f.name for f in fields(StageConfig)}
        for key, value in _net_overrides(getattr(args, "set", None) or []).items():
            if key not in stage_fields:
                raise SystemExit(f"--set {key}: a stage has no setting of that name")
            self.cfg = replace(self.cfg, **{key: value})
        self.args, self.dist = args, dist
        self.out = Path(args.out)
        self.out.mkdir(parents=True, exist_ok=True)
        dev = dist.device
        resume_path = _ckpt(self.out, stage)
        ck = None
        if resume_path.exists() and not args.restart:
            ck = torch.load(resume_path, map_location=dev, weights_only=False)
        self.model = build_model(stage, recipe.net, ck, recipe).to(dev)
        warm = bool(args.init)
        self.helpers = (
            init_from_previous(stage, self.model, self.out, dev, warm) if ck is None else {}
        )
        if ck is None and args.init:
            # Warm start: this stage's weights from another run's checkpoint of the same shape.
            warm = torch.load(args.init, map_location=dev, weights_only=False)
            self.model.load_state_dict(warm["ema"])
        if ck is not None and stage != "ae":
            # Frozen helpers come from earlier stages' finals, as on a fresh start.
            probe = build_model(stage, recipe.net, None, recipe).to(dev)
            self.helpers = init_from_previous(stage, probe, self.out, dev, warm_start=True)
            del probe
        self.ema = EMA(self.model, self.cfg.ema)
        if self.cfg.disc not in DISCRIMINATORS:
            known = ", ".join(DISCRIMINATORS)
            raise SystemExit(f"disc must be one of {known}, not {self.cfg.disc}")
        self.disc = DISCRIMINATORS[self.cfg.disc]().to(dev) if self.cfg.gan > 0 else None
        self.step, self.elapsed = 0, 0.0
        if ck is not None:
            self.model.load_state_dict(ck["model"])
            self.ema.model.load_state_dict(ck["ema"])
            self.step, self.elapsed = ck["step"], ck["elapsed"]
            if self.disc is not None and ck.get("disc"):
                self.disc.load_state_dict(ck["disc"])
        self.adapters: nn.ModuleList | None = None
        self.cache = Path(args.teacher_cache) if getattr(args, "teacher_cache", None) else None
        self.partner = self._load_partner(getattr(args, "partner", None))
        self.mix_pool: TeacherPool | None = None
        self.mix_gen = torch.Generator().manual_seed(recipe.seed * 104729 + dist.rank)
        if stage == "detail" and self.cache is None:
            # Live teacher (GPU): its outputs and trunk features, through trained adapters.
            from .rrdb import load_x4plus

            self.helpers["x4plus"] = load_x4plus().to(dev)
            if self.cfg.distill > 0:
                self.adapters = make_adapters(self.model).to(dev)
                if ck is not None and ck.get("adapters"):
                    self.adapters.load_state_dict(ck["adapters"])
        extra = list(self.adapters.parameters()) if self.adapters is not None else []
        self.opt = torch.optim.Adam(
            param_groups(self.model, extra), lr=self.cfg.lr, betas=self.cfg.betas
        )
        self.dopt = (
            torch.optim.Adam(self.disc.parameters(), lr=self.cfg.lr, betas=self.cfg.betas)
            if self.disc is not None
            else None
        )
        if ck is not None:
            self.opt.load_state_dict(ck["opt"])
            if self.dopt is not None and ck.get("dopt"):
                self.dopt.load_state_dict(ck["dopt"])
        self.train_model = wrap(self.model, dist)
        if getattr(args, "compile", False):
            # Fewer, fused kernels: the small network is launch-bound on a GPU otherwise.
            self.train_model = torch.compile(self.train_model)
        self.train_disc = wrap(self.disc, dist) if self.disc is not None else None
        self.taps = None
        if self.adapters is not None:
            self.taps = (losses.FeatureTap(self.model.distill_taps()), None)
        if stage == "prune" and self.cfg.distill > 0:
            self.taps = (
                losses.FeatureTap(losses.distill_taps(self.model.unet)),
                losses.FeatureTap(losses.distill_taps(self.helpers["teacher"].unet)),
            )
        self.amp = dist.device.type == "cuda"
        self.log_path = self.out / "log.jsonl"

    def _load_partner(self, path: str | None) -> dict[str, torch.Tensor] | None:
        """The frozen detail weights this fidelity end mixes with (--partner), checked."""
        if not path and self.cfg.mix > 0:
            raise SystemExit("--set mix needs --partner: the detail checkpoint to mix with")
        if not path:
            return None
        if self.stage_name != "refine":
            raise SystemExit("--partner trains the fidelity mixes: use it with --stage refine")
        if self.cache is None:
            raise SystemExit("--partner needs --teacher-cache: a mix learns toward the teacher too")
        if self.dist.world > 1:
            raise SystemExit("--partner runs in one process (the mixed forward bypasses DDP)")
        return partner_weights(Path(path), self.model, self.dist.device)

    # -- pruning -------------------------------------------------------------------------

    def anneal(self, frac: float) -> float:
        """Set the heavy -> light weight for this point of the stage; prune when it reaches 1."""
        if self.stage_name != "prune":
            return 1.0
        pairs = self.model.annealed()
        if pairs and pairs[0].heavy is None:
            return 1.0
        t = min(1.0, frac / max(1e-6, self.cfg.anneal_end))
        alpha = 0.5 - 0.5 * math.cos(math.pi * t)
        for pair in pairs:
            pair.set_alpha(alpha)
        if t >= 1.0:
            self.prune_now()
        return alpha

    def prune_now(self) -> None:
        """Remove the heavy modules from the model and its EMA; keep Adam's state of the rest."""
        prune_heavy(self.model)
        prune_heavy(self.ema.model)
        old = self.opt
        self.opt = torch.optim.Adam(
            param_groups(self.model, []), lr=self.cfg.lr, betas=self.cfg.betas
        )
        for p in self.model.parameters():
            if p in old.state:
                self.opt.state[p] = old.state[p]
        if self.taps is not None:
            self.taps[0].close()
            self.taps = (losses.FeatureTap(losses.distill_taps(self.model.unet)), self.taps[1])
        self.train_model = wrap(self.model, self.dist)
        self.log({"event": "pruned", "step": self.step})

    # -- one step ------------------------------------------------------------------------

    def loss(
        self, lr: torch.Tensor, hr: torch.Tensor, teacher_sr: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict, torch.Tensor]:
        """The stage's generator loss and its parts (`teacher_sr`: cached teacher output)."""
        c = self.cfg
        parts: dict[str, torch.Tensor] = {}
        if self.stage_name == "ae":
            sr = self.train_model(hr)
            parts["l1"] = F.l1_loss(sr, hr)
            return parts["l1"], parts, sr
        if self.taps is not None:
            self.taps[0].take()
        sr = self.train_model(lr)
        parts["l1"] = c.l1 * F.l1_loss(sr, hr)
        enc = self.helpers.get("hr_encoder")
        if enc is not None and c.feature > 0:
            parts["feature"] = c.feature * losses.feature_loss(enc, sr, hr)
        if enc is not None and c.latent > 0:
            model = unwrap(self.train_model)
            with torch.no_grad():
                target = enc(hr).latent
            z0 = model.denoise(model.encode(lr).latent)
            parts["latent"] = c.latent * F.l1_loss(z0, target)
        if self.stage_name == "detail":
            teacher_feats: list[torch.Tensor] = []
            if teacher_sr is None:
                with torch.no_grad():
                    teacher_sr, teacher_feats = self.helpers["x4plus"].features(lr, TEACHER_TAPS)
                teacher_sr = teacher_sr.clamp(0, 1)
            parts["teacher_l1"] = c.teacher_l1 * F.l1_loss(sr, teacher_sr)
            if self.adapters is not None and teacher_feats:
                student = [a(f) for a, f in zip(self.adapters, self.taps[0].take(), strict=True)]
                parts["distill"] = c.distill * losses.distill_loss(student, teacher_feats)
        elif self.taps is not None and c.distill > 0:
            with torch.no_grad():
                self.taps[1].take()
                teacher_sr = self.helpers["teacher"](lr)
            student_feats = self.taps[0].take()
            teacher_feats = self.taps[1].take()
            parts["distill"] = c.distill * (
                losses.distill_loss(student_feats, teacher_feats) + F.l1_loss(sr, teacher_sr)
            )
        if c.grid > 0:
            target = teacher_sr if self.stage_name == "detail" else hr
            parts["grid"] = c.grid * losses.phase_pattern_loss(sr, target, self.recipe.net.scale)
        if self.train_disc is not None and c.gan > 0:
            parts["gan"] = c.gan * losses.gan_generator_loss(self.train_disc(sr))
        return sum(parts.values()), parts, sr

    def mix_loss(
        self, lr: torch.Tensor, hr: torch.Tensor, teacher_sr: torch.Tensor, strength: float
    ) -> tuple[torch.Tensor, dict, torch.Tensor]:
        """The loss of the strength mix: its output toward the same mix of truth and teacher."""
        c = self.cfg
        sr = mixed_forward(self.model, self.partner, strength, lr)
        target = torch.lerp(hr, teacher_sr, strength)
        parts = {"mix_l1": c.l1 * F.l1_loss(sr, target), "strength": torch.tensor(strength)}
        if c.grid > 0:
            pattern = losses.phase_pattern_loss(sr, target, self.recipe.net.scale)
            parts["mix_grid"] = c.grid * pattern
        total = parts["mix_l1"] + parts.get("mix_grid", 0.0)
        return total, parts, sr

    def draw_strength(self) -> float | None:
        """The strength this step trains at (with --partner and --set mix), or None: this end."""
        if self.partner is None or self.cfg.mix <= 0:
            return None
        share, strength = torch.rand(2, generator=self.mix_gen).tolist()
        return strength if share < self.cfg.mix else None

    def train_step(self, pool: Pool, frac: float) -> dict:
        """One optimisation step (generator, then discriminator in the GAN stage)."""
        lr_now = lr_at(self.cfg, frac)
        for group in self.opt.param_groups:
            group["lr"] = lr_now * group.get("lr_scale", 1.0)
        strength = self.draw_strength()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            if strength is None:
                lr, hr, *cached = pool.sample(self.cfg.batch)
                total, parts, sr = self.loss(lr, hr, *cached)
            else:  # a mix learns toward the teacher too: its pairs come from the cache
                lr, hr, teacher_sr = self.mix_pool.sample(self.cfg.batch)
                total, parts, sr = self.mix_loss(lr, hr, teacher_sr, strength)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        if self.train_disc is not None:
            for group in self.dopt.param_groups:
                group["lr"] = lr_now
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
                d_loss = losses.gan_discriminator_loss(
                    self.train_disc(hr), self.train_disc(sr.detach())
                )
            self.dopt.zero_grad(set_to_none=True)
            d_loss.backward()
            self.dopt.step()
            parts["d"] = d_loss
        # Warm the average up quickly so short runs still export a useful EMA.
        self.ema.update(self.model, min(self.cfg.ema, (1 + self.step) / (10 + self.step)))
        return {k: float(v.detach()) for k, v in parts.items()} | {"lr": lr_now}

    # -- bookkeeping ---------------------------------------------------------------------

    def log(self, record: dict) -> None:
        """Append one JSON line to the run's log (main rank) and echo it."""
        if not self.dist.main:
            return
        record = {"stage": self.stage_name, "time": round(time.time(), 1)} | record
        with self.log_path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)

    def state(self, done: bool) -> dict:
        """Everything needed to resume (or to start the next stage)."""
        pairs = self.model.annealed() if hasattr(self.model, "annealed") else []
        return {
            "stage": self.stage_name,
            "step": self.step,
            "elapsed": self.elapsed,
            "done": done,
            "pruned": bool(pairs) and pairs[0].heavy is None,
            "net": asdict(self.recipe.net),
            "model": self.model.state_dict(),
            "ema": self.ema.model.state_dict(),
            "opt": self.opt.state_dict(),
            "disc": self.disc.state_dict() if self.disc is not None else None,
            "dopt": self.dopt.state_dict() if self.dopt is not None else None,
            "adapters": self.adapters.state_dict() if self.adapters is not None else None,
        }

    def save(self, done: bool = False) -> None:
        """Write the resumable checkpoint (and the final one at the end), main rank only."""
        if not self.dist.main:
            return
        state = self.state(done)
        save_atomic(state, _ckpt(self.out, self.stage_name))
        if done:
            save_atomic(state, _ckpt(self.out, self.stage_name, final=True))

    def run(self, photos) -> None:
        """Train until the stage's steps (or time budget) are used up."""
        if _ckpt(self.out, self.stage_name, final=True).exists() and not self.args.restart:
            self.log({"event": "skip", "reason": "already finished"})
            return
        pool = (
            TeacherPool(self.cache, self.dist, self.recipe.seed)
            if self.stage_name == "detail" and self.cache is not None
            else Pool(photos, self.cfg, self.recipe, self.dist, self.args)
        )
        if self.partner is not None:
            # This end trains on its own stage's pairs; the mixes on the teacher cache's.
            self.mix_pool = TeacherPool(self.cache, self.dist, self.recipe.seed + 1)
        self.log({"event": "start", "step": self.step, "config": asdict(self.cfg)})
        start = time.time() - self.elapsed
        first_step, first_elapsed = self.step, self.elapsed
        frac = progress_fraction(self.step, self.elapsed, self.cfg, self.args.minutes)
        refresh = self.args.pool_refresh or self.recipe.pool_refresh
        while frac < 1.0:
            alpha = self.anneal(frac)
            parts = self.train_step(pool, frac)
            self.step += 1
            self.elapsed = time.time() - start
            frac = progress_fraction(self.step, self.elapsed, self.cfg, self.args.minutes)
            if self.dist.world > 1:
                # Every rank must stop on the same step: the slowest one's view of the time wins.
                t = torch.tensor([frac], device=self.dist.device)
                torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
                frac = float(t)
            if self.step % self.cfg.log_every == 0:
                rate = (self.step - first_step) * self.cfg.batch * self.dist.world
                rate /= max(1e-9, time.time() - start - first_elapsed)
                self.log(
                    {"step": self.step, "elapsed": round(self.elapsed, 1), "alpha": alpha}
                    | parts
                    | {"samples_per_s": round(rate, 1)}
                )
            if self.step % self.cfg.ckpt_every == 0:
                self.save()
            if refresh and self.step % refresh == 0:
                pool.refill()
        self.anneal(1.0)
        self.save(done=True)
        self.log({"event": "done", "step": self.step, "elapsed": round(self.elapsed, 1)})
        if os.environ.get("POCKETSR_DDP_CHECK"):
            # Test hook: every rank writes a digest of its weights; the DDP test compares them.
            digest = {
                k: param_checksum(m) for k, m in (("model", self.model), ("ema", self.ema.model))
            }
            path = self.out / f"param_checksum_rank{self.dist.rank}.txt"
            path.write_text(json.dumps({"step": self.step} | digest))


def param_checksum(model: nn.Module) -> str:
    """SHA-256 of every tensor of a model's state, in order (equal only if bit-identical)."""
    h = hashlib.sha256()
    for name, t in model.state_dict().items():
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the training command."""
    p = argparse.ArgumentParser(
        prog="python -m pocketsr.model.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--recipe", default="nano", help="recipe name (model/configs) or TOML path")
    p.add_argument("--stage", default="all", choices=(*STAGES, "gan", "all", "plain", "scratch"))
    p.add_argument("--data", action="append", default=[], help="folder of HR training photos")
    p.add_argument("--no-skimage", action="store_true", help="do not add scikit-image's photos")
    p.add_argument("--out", default="runs/nano", help="run folder (checkpoints, log)")
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int, default=0, help="override the stage's step count")
    p.add_argument("--minutes", type=float, default=None, help="wall-time budget per stage")
    p.add_argument("--batch", type=int, default=0)
    p.add_argument("--hr-crop", type=int, default=0)
    p.add_argument("--pool-size", type=int, default=0)
    p.add_argument("--pool-refresh", type=int, default=0, help="remake the pool every N steps")
    p.add_argument("--workers", type=int, default=1, help="processes making degraded pairs")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--restart", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--compile", action="store_true", help="torch.compile the trained network")
    p.add_argument("--log-every", type=int, default=0, help="override the stage's log interval")
    p.add_argument("--init", default=None, help="warm-start the stage from this checkpoint's EMA")
    p.add_argument(
        "--teacher-cache",
        default=None,
        help="stage detail: read x4plus outputs from this cache (model/teacher_cache.py) "
        "instead of running the teacher live",
    )
    p.add_argument(
        "--partner",
        default=None,
        help="stage refine: the detail checkpoint this fidelity end mixes with by a strength; "
        "with --set mix=P a share P of the steps trains the mixes (model/mixing.py)",
    )
    p.add_argument("--net", action="append", default=[], help="override a net field: KEY=VALUE")
    p.add_argument("--set", action="append", default=[], help="override a stage setting: KEY=VALUE")
    return p.parse_args(argv)


def _net_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = json.loads(value) if value[:1] in "[{0123456789-tf" else value
        if isinstance(out[key], list):
            out[key] = tuple(out[key])
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the chosen stage(s)."""
    args = parse_args(argv)
    reads_cache = args.stage in ("all", "detail") or (args.stage == "refine" and args.partner)
    if args.teacher_cache and not reads_cache:
        # Checked before any work: the stage would train on its own pairs toward the ground
        # truth while the user believes it learns the teacher.
        raise SystemExit(
            f"--teacher-cache is read by stage detail and by refine's mixes (--partner); "
            f"stage {args.stage} would ignore it. For an adversarial fine-tune toward the "
            f"teacher use --stage detail --set gan=W"
        )
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe, **_net_overrides(args.net))
    dist = setup_dist(args.device)
    # The same init on every rank: DDP broadcasts rank 0's model, but the EMA copy is older.
    torch.manual_seed(recipe.seed)
    np.random.seed(recipe.seed + dist.rank)
    photos = load_photos([Path(d) for d in args.data], use_skimage=not args.no_skimage)
    # "all": the recipe's own stages, in order (the stack shape has no autoencoder stage).
    stages = [s for s in STAGES if s in recipe.stages] if args.stage == "all" else [args.stage]
    if "ae" in stages and recipe.net.shape != "unet":
        raise SystemExit(
            f"stage ae pre-trains the UNet shape's LiteED; this net is {recipe.net.shape!r}"
        )
    for stage in stages:
        StageRun(stage, recipe, args, dist).run(photos)
    if dist.world > 1:
        torch.distributed.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
