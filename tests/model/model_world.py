"""Shared fixtures of the model tests: tiny photos, a tiny recipe, one tiny run of every stage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

# The machine is shared: one thread keeps the tiny runs predictable.
torch.set_num_threads(1)

TINY_STAGE = "steps = 3\nbatch = 2\nhr_crop = 64\nema = 0.9\nlog_every = 1\nckpt_every = 1\n"


def tiny_recipe_text(stage_steps: int = 3) -> str:
    """The nano network with every stage cut to a few 64-pixel steps, logged and saved each step."""
    nano = (Path(__file__).resolve().parents[2] / "model" / "configs" / "nano.toml").read_text()
    net = nano[nano.index("[net]") : nano.index("[stage_defaults]")]
    defaults = TINY_STAGE.replace("steps = 3", f"steps = {stage_steps}")
    return (
        "seed = 0\npool_size = 4\n\n"
        + net
        + "[stage_defaults]\n"
        + defaults
        + "\n[stages.ae]\nl1 = 1.0\n"
        + "\n[stages.teacher]\nl1 = 1.0\nlatent = 0.1\nfeature = 0.1\n"
        + "\n[stages.prune]\nl1 = 1.0\ndistill = 0.5\nfeature = 0.1\nanneal_end = 0.5\n"
        + "\n[stages.refine]\nl1 = 1.0\nfeature = 0.1\nclean_fraction = 0.3\n"
        + "\n[stages.detail]\nl1 = 0.25\nteacher_l1 = 1.0\ndistill = 0.2\n"
        + "\n[stages.gan]\nlr = 1e-4\nl1 = 1.0\nfeature = 0.2\ngan = 0.02\n"
        + "\n[stages.plain]\nl1 = 1.0\n"
    )


class BicubicTeacher(torch.nn.Module):
    """A cheap stand-in x4 teacher for the pair cache's bookkeeping (the real one: rrdb.py)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Bicubic x4."""
        return torch.nn.functional.interpolate(x, scale_factor=4, mode="bicubic")


@pytest.fixture(scope="session")
def photos_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three small natural photos (scikit-image crops) saved as PNG."""
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    for name in ("astronaut", "coffee", "chelsea"):
        img = getattr(data, name)()[:96, :112]
        Image.fromarray(np.ascontiguousarray(img)).save(folder / f"{name}.png")
    return folder


@pytest.fixture(scope="session")
def tiny_teacher_cache(tmp_path_factory: pytest.TempPathFactory, photos_dir: Path) -> Path:
    """A teacher-pair cache of four pairs made from the tiny photos by BicubicTeacher."""
    from pocketsr.model import teacher_cache
    from pocketsr.model.data import load_photos

    cache = tmp_path_factory.mktemp("teacher-cache")
    photos = load_photos([photos_dir], use_skimage=False)
    teacher_cache.build(photos, cache, 4, BicubicTeacher, log=lambda _: None, shard_size=4)
    return cache


@pytest.fixture(scope="session")
def tiny_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recipe TOML: nano network, 3 steps per stage, batch 2, 64-pixel crops."""
    path = tmp_path_factory.mktemp("recipe") / "tiny.toml"
    path.write_text(tiny_recipe_text())
    return path


def train_args(recipe: Path, photos: Path, out: Path, stage: str, *extra: str) -> list[str]:
    """Command-line arguments of a tiny single-process run."""
    return [
        "--recipe",
        str(recipe),
        "--stage",
        stage,
        "--data",
        str(photos),
        "--no-skimage",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--pool-size",
        "4",
        *extra,
    ]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, tiny_recipe: Path, photos_dir: Path) -> Path:
    """One run folder in which every stage (`--stage all`, then `gan`) trained 3 steps.

    Stage detail runs the real x4plus teacher live (on 16-pixel LR crops).
    """
    from pocketsr.model import train

    out = tmp_path_factory.mktemp("run")
    assert train.main(train_args(tiny_recipe, photos_dir, out, "all")) == 0
    assert train.main(train_args(tiny_recipe, photos_dir, out, "gan")) == 0
    return out
