"""Recipe configs: nano's cost targets, base at paper scale (on the meta device), typos raise."""

from __future__ import annotations

import pytest
import torch

from pocketsr.model.config import load_recipe
from pocketsr.model.macs import count_params, macs_per_lr_pixel
from pocketsr.model.network import PocketSR, attach_light, prune_heavy
from pocketsr.model.train import STAGES


def test_nano_student_meets_the_cost_targets():
    cfg = load_recipe("nano").net
    model = PocketSR(cfg)
    teacher_params = count_params(model)
    attach_light(model)
    prune_heavy(model)
    params = count_params(model)
    macs = macs_per_lr_pixel(model, lr_size=32)
    print(f"nano: teacher {teacher_params:,} params; student {params:,}, {macs:,.0f} MACs/LR px")
    # Measured: teacher 1,228,688; student 540,176 params, 150,476 MACs per LR pixel.
    assert 200_000 <= params <= 1_500_000
    assert macs <= 300_000
    assert macs > 50_000  # the count really ran through the convolutions


def test_base_is_paper_scale_on_the_meta_device():
    recipe = load_recipe("base")
    assert set(recipe.stages) == set(STAGES) | {"gan"}
    with torch.device("meta"):
        model = PocketSR(recipe.net)
    assert next(model.parameters()).is_meta
    total = count_params(model)
    liteed = count_params(model.encoder) + count_params(model.decoder)
    with torch.device("meta"):
        attach_light(model)
        prune_heavy(model)
    student = count_params(model)
    print(f"base: {total:,} params (LiteED {liteed:,}); pruned student {student:,}")
    # Measured: 147,410,552 in total, LiteED 2,067,956, pruned student 33,949,560.
    assert abs(total - 146e6) <= 0.1 * 146e6
    assert 1.5e6 <= liteed <= 2.5e6


def test_nano_recipe_has_every_stage():
    recipe = load_recipe("nano")
    assert set(STAGES) | {"gan", "scratch", "plain"} == set(recipe.stages)
    # The latent stays on the LR grid; one UNet level below it makes LR sizes even.
    assert recipe.net.size_multiple == 2


@pytest.mark.parametrize(
    "text",
    [
        "[net]\nunet_chanels = [8, 16]\n",
        "[stages.ae]\nstep = 3\n",
        "[stage_defaults]\nbatchsize = 2\n[stages.ae]\nsteps = 3\n",
        "pool = 3\n",
    ],
)
def test_unknown_keys_raise(tmp_path, text):
    path = tmp_path / "typo.toml"
    path.write_text(text)
    with pytest.raises((ValueError, TypeError), match=r"unknown|unexpected"):
        load_recipe(path)


def test_known_keys_load(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text("seed = 3\n[net]\nunet_channels = [8, 16]\n[stages.ae]\nsteps = 3\n")
    recipe = load_recipe(path)
    assert recipe.seed == 3 and recipe.net.unet_channels == (8, 16)
    assert recipe.stages["ae"].steps == 3
