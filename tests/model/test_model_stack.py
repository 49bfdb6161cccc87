"""The stack shape of PocketSR (model/stack.py): its budget, annealing, pruning and a whole run."""

from __future__ import annotations

import copy
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
from model_world import TINY_STAGE, train_args
from torch import nn

from pocketsr.engine import Upscaler
from pocketsr.model import export, train
from pocketsr.model.baseline import PlainSR
from pocketsr.model.blocks import HeavyAttention
from pocketsr.model.config import load_recipe
from pocketsr.model.macs import count_params, macs_per_lr_pixel
from pocketsr.model.network import PocketSR, attach_light, is_tile_safe, prune_heavy

RECIPE_PATH = Path(__file__).resolve().parents[2] / "model" / "configs" / "nano_stack.toml"


@pytest.fixture(scope="module")
def recipe():
    return load_recipe("nano_stack")


def _student(cfg, seed: int = 0) -> PocketSR:
    torch.manual_seed(seed)
    model = PocketSR(cfg, heavy=True)
    attach_light(model)
    return model


def test_the_pruned_stack_is_dense_3x3_convs_within_2_percent_of_the_plain_budget(recipe):
    student = _student(recipe.net)
    prune_heavy(student)
    plain = PlainSR(recipe.plain_channels, recipe.plain_layers)
    ours, theirs = macs_per_lr_pixel(student), macs_per_lr_pixel(plain)
    assert abs(ours / theirs - 1) <= 0.02, (ours, theirs)
    convs = [m for m in student.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.kernel_size == (3, 3) and c.groups == 1 for c in convs)
    assert recipe.net.size_multiple == 1
    assert is_tile_safe(student)
    # The heavy teacher really is heavier and global (GroupNorm, attention).
    teacher = PocketSR(recipe.net, heavy=True)
    assert macs_per_lr_pixel(teacher) > 1.5 * ours
    assert any(isinstance(m, HeavyAttention) for m in teacher.modules())


def test_annealing_runs_from_the_teacher_to_the_pruned_stack(recipe):
    cfg = replace(recipe.net, init="default")  # non-zero residual branches on both sides
    teacher = PocketSR(cfg, heavy=True).eval()
    torch.manual_seed(0)
    for p in teacher.parameters():
        p.data.add_(torch.randn_like(p) * 0.01)
    student = copy.deepcopy(teacher)
    attach_light(student)
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        for pair in student.annealed():
            pair.set_alpha(0.0)
        assert torch.equal(student(x), teacher(x))
        for pair in student.annealed():
            pair.set_alpha(1.0)
        light = student(x)
        pruned = copy.deepcopy(student)
        prune_heavy(pruned)
        assert torch.equal(pruned(x), light)
        for pair in student.annealed():
            pair.set_alpha(0.5)
        mid = student(x)
    assert not torch.allclose(mid, light) and not torch.allclose(mid, teacher(x))
    assert not any(isinstance(m, (nn.GroupNorm, HeavyAttention)) for m in pruned.modules())


def test_the_kaiming_start_is_the_bicubic_base_with_a_live_stack(recipe):
    model = _student(recipe.net)
    prune_heavy(model)
    x = torch.rand(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(x), model.base(x))
        z = model.encode(x).latent
        # The blocks start as the identity, the output projection of the stack does not.
        assert model.unet(z).abs().mean() > 0.01
    with pytest.raises(ValueError, match="at least 3 blocks"):
        PocketSR(replace(recipe.net, unet_blocks=2))
    with pytest.raises(ValueError, match="unknown network shape"):
        PocketSR(replace(recipe.net, shape="tower"))


def test_distillation_taps_three_depths_of_the_stack(recipe):
    model = _student(recipe.net)
    prune_heavy(model)
    taps = model.distill_taps()
    assert len(taps) == 3 == len(model.distill_widths())
    seen: list[torch.Tensor] = []
    hooks = [t.register_forward_hook(lambda _m, _i, out: seen.append(out)) for t in taps]
    with torch.no_grad():
        model(torch.rand(1, 3, 12, 12))
    for h in hooks:
        h.remove()
    assert [t.shape[1] for t in seen] == model.distill_widths()
    assert all(t.shape[-2:] == (12, 12) for t in seen)  # every tap on the LR grid


@pytest.fixture(scope="module")
def stack_run(tmp_path_factory, photos_dir) -> Path:
    """The stack recipe's network through teacher, prune, refine and a live-teacher detail."""
    text = RECIPE_PATH.read_text()
    net = text[text.index("[net]") : text.index("\n# No autoencoder stage")]
    recipe = tmp_path_factory.mktemp("stack-recipe") / "tiny_stack.toml"
    recipe.write_text(
        "seed = 0\npool_size = 4\n\n"
        + net.replace("unet_blocks = 12", "unet_blocks = 4")
        + "\n[stage_defaults]\n"
        + TINY_STAGE
        + "\n[stages.teacher]\nl1 = 1.0\n"
        + "\n[stages.prune]\nl1 = 1.0\ndistill = 0.5\nanneal_end = 0.5\n"
        + "\n[stages.refine]\nl1 = 1.0\nclean_fraction = 0.3\n"
        + "\n[stages.detail]\nl1 = 0.25\nteacher_l1 = 1.0\ndistill = 0.2\n"
    )
    out = tmp_path_factory.mktemp("stack-run")
    assert train.main(train_args(recipe, photos_dir, out, "all")) == 0
    return out


def test_the_stack_recipe_trains_every_stage_and_exports_for_the_engine(
    stack_run, tmp_path, photos_dir
):
    for stage in ("teacher", "prune", "refine", "detail"):
        assert (stack_run / f"{stage}_final.pt").exists(), stage
    ck = torch.load(stack_run / "detail_final.pt", map_location="cpu", weights_only=False)
    assert ck.get("adapters"), "detail ran without the live teacher's feature distillation"
    onnx_path = tmp_path / "stack.onnx"
    assert export.main([str(stack_run / "detail_final.pt"), str(onnx_path), "--name", "s"]) == 0
    up = Upscaler(onnx_path, device="cpu", threads=1)
    assert up.info.scale == 4 and up.info.tile_safe and up.info.size_multiple == 1
    from skimage import data

    photo = np.asarray(data.astronaut()[40:136, 180:276], np.float32) / 255
    whole = up.upscale(photo, tile=None)
    tiled = up.upscale(photo, tile=48)
    mse = float(np.mean((whole.astype(np.float64) - tiled) ** 2))
    assert mse == 0 or 10 * np.log10(1 / mse) >= 60


def test_the_two_level_stack_buys_weights_and_reach_at_the_same_macs(recipe, tmp_path):
    """half_blocks: middle blocks on LR/2 at 88 wide cost what 48 wide on LR cost."""
    flat = _student(recipe.net)
    prune_heavy(flat)
    cfg = replace(recipe.net, half_blocks=4, half_channels=88)
    two = _student(cfg)
    prune_heavy(two)
    assert abs(macs_per_lr_pixel(two) / macs_per_lr_pixel(flat) - 1) <= 0.02
    assert count_params(two) > 1.8 * count_params(flat)
    assert cfg.size_multiple == 2 and is_tile_safe(two)
    x = torch.rand(1, 3, 16, 20)
    with torch.no_grad():
        assert torch.equal(two(x), two.base(x))  # the Kaiming start: bicubic, LR/2 branch silent
    with pytest.raises(ValueError, match="half_blocks must be"):
        PocketSR(replace(recipe.net, half_blocks=5))
    # Through the exporter and the engine: even sizes, and tiles that agree with the whole.
    torch.manual_seed(1)
    with torch.no_grad():
        for p in two.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    ck = {"stage": "refine", "step": 0, "pruned": True, "net": asdict(cfg), "ema": two.state_dict()}
    torch.save(ck, tmp_path / "two.pt")
    onnx_path = tmp_path / "two.onnx"
    assert export.main([str(tmp_path / "two.pt"), str(onnx_path), "--name", "two"]) == 0
    up = Upscaler(onnx_path, device="cpu", threads=1)
    assert up.info.size_multiple == 2
    rng = np.random.default_rng(0)
    photo = rng.random((45, 37, 3), dtype=np.float32)  # odd sides: the engine pads them
    whole = up.upscale(photo, tile=None)
    tiled = up.upscale(photo, tile=24)
    assert whole.shape == (180, 148, 3)
    mse = float(np.mean((whole.astype(np.float64) - tiled) ** 2))
    assert mse == 0 or 10 * np.log10(1 / mse) >= 60


def test_the_lr2_branch_trains_at_its_width_scaled_rate(recipe, tmp_path, photos_dir):
    """Adam's groups: the LR/2 branch's weights at latent / width of the rate, the rest at 1."""
    flat = _student(recipe.net)
    prune_heavy(flat)
    assert [g["lr_scale"] for g in train.param_groups(flat, [])] == [1.0]
    text = RECIPE_PATH.read_text()
    net = text[text.index("[net]") : text.index("\n# No autoencoder stage")]
    tiny = tmp_path / "tiny_two_level.toml"
    tiny.write_text(
        "seed = 0\npool_size = 4\n\n"
        + net.replace("unet_blocks = 12", "unet_blocks = 4")
        + "\n[stage_defaults]\n"
        + TINY_STAGE
        + "\n[stages.scratch]\nlr = 2e-3\nl1 = 1.0\n"
    )
    out = tmp_path / "run"
    half = ("--net", "half_blocks=2", "--net", "half_channels=96")
    assert train.main(train_args(tiny, photos_dir, out, "scratch", *half)) == 0
    ck = torch.load(out / "scratch_final.pt", map_location="cpu", weights_only=False)
    groups = {g["lr_scale"]: g for g in ck["opt"]["param_groups"]}
    assert set(groups) == {1.0, 0.5}
    assert groups[0.5]["lr"] == pytest.approx(0.5 * groups[1.0]["lr"])  # set by train_step
    model = _student(replace(recipe.net, unet_blocks=4, half_blocks=2, half_channels=96))
    prune_heavy(model)
    branch = [m for m in model.modules() if hasattr(m, "lr_scale")]
    assert len(branch) == 1 and len(groups[0.5]["params"]) == len(list(branch[0].parameters()))
