"""Every training stage end to end at tiny scale, pruning events, and resume after a kill."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from model_world import train_args

from pocketsr.model import train


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def _ck(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def test_every_stage_runs_and_leaves_checkpoints_and_logs(trained_run):
    records = _log(trained_run)
    for stage in (*train.STAGES, "gan"):
        for name in (f"{stage}.pt", f"{stage}_final.pt"):
            assert (trained_run / name).is_file(), name
        final = _ck(trained_run / f"{stage}_final.pt")
        assert final["stage"] == stage and final["step"] == 3 and final["done"]
        done = [r for r in records if r["stage"] == stage and r.get("event") == "done"]
        assert done and done[-1]["step"] == 3
        steps = [r["step"] for r in records if r["stage"] == stage and "l1" in r]
        assert steps == [1, 2, 3]  # log_every = 1
    gan = [r for r in records if r["stage"] == "gan" and "gan" in r]
    assert gan and all("d" in r for r in gan)
    # The live teacher: output L1 and trunk-feature distillation through the adapters.
    detail = [r for r in records if r["stage"] == "detail" and "l1" in r]
    assert detail and all(r["teacher_l1"] > 0 and r["distill"] > 0 for r in detail)
    assert _ck(trained_run / "detail_final.pt")["adapters"]


def test_prune_stage_logs_the_prune_and_saves_a_pruned_student(trained_run):
    records = _log(trained_run)
    assert [r for r in records if r["stage"] == "prune" and r.get("event") == "pruned"]
    alphas = [r["alpha"] for r in records if r["stage"] == "prune" and "alpha" in r]
    assert alphas[0] < 1.0 and alphas[-1] == 1.0
    assert _ck(trained_run / "prune_final.pt")["pruned"] is True
    assert _ck(trained_run / "refine_final.pt")["pruned"] is True
    assert _ck(trained_run / "detail_final.pt")["pruned"] is True
    assert _ck(trained_run / "gan_final.pt")["pruned"] is True
    assert _ck(trained_run / "teacher_final.pt")["pruned"] is False


def test_the_patch_discriminator_trains_the_adversarial_stage(
    trained_run, tmp_path, tiny_recipe, photos_dir
):
    out = tmp_path / "run"
    shutil.copytree(trained_run, out)
    args = train_args(tiny_recipe, photos_dir, out, "gan", "--restart", "--set", "disc=patch")
    assert train.main(args) == 0
    final = _ck(out / "gan_final.pt")
    assert final["step"] == 3 and any(k.startswith("body.") for k in final["disc"])
    gan = [r for r in _log(out) if r["stage"] == "gan" and "gan" in r]
    assert gan and all("d" in r for r in gan)
    with pytest.raises(SystemExit, match="disc must be one of unet, patch"):
        train.main(train_args(tiny_recipe, photos_dir, out, "gan", "--restart", "--set", "disc=x"))


def test_plain_baseline_stage(tmp_path, tiny_recipe, photos_dir):
    assert train.main(train_args(tiny_recipe, photos_dir, tmp_path, "plain")) == 0
    final = _ck(tmp_path / "plain_final.pt")
    assert final["step"] == 3 and final["done"]


def test_the_grid_loss_is_logged_when_weighted(tmp_path, tiny_recipe, photos_dir):
    args = train_args(tiny_recipe, photos_dir, tmp_path, "plain", "--set", "grid=100")
    assert train.main(args) == 0
    logged = [r for r in _log(tmp_path) if "grid" in r]
    assert logged and all(r["grid"] >= 0 for r in logged)


def test_phase_pattern_loss_sees_the_grid_and_not_the_content():
    from pocketsr.model.losses import phase_pattern_loss

    torch.manual_seed(0)
    target = torch.rand(2, 3, 128, 128)
    phase = torch.randn(4, 4)
    grid = (phase - phase.mean()).repeat(32, 32) * 0.01
    assert phase_pattern_loss(target + grid, target).item() == pytest.approx(
        grid.square().mean().item(), rel=1e-4
    )
    smooth = torch.linspace(0, 0.05, 128).view(1, 1, 1, 128).expand(2, 3, 128, 128)
    assert phase_pattern_loss(target + smooth, target) < 0.01 * grid.square().mean()
    # Plain noise in the error averages out of it: its 64x64 windows leave 1/256 of the power.
    noise = torch.randn_like(target) * 0.01
    assert phase_pattern_loss(target + noise, target) < 0.01 * noise.square().mean()


class _Killed(Exception):
    pass


@pytest.mark.parametrize(("stage", "kill"), [("teacher", 2), ("prune", 3)])
def test_a_killed_stage_resumes_where_it_stopped(
    tmp_path, monkeypatch, stage, kill, trained_run, tiny_recipe, photos_dir
):
    """Kill after step `kill` of 4 (a checkpoint every step), then run again: the rest only."""
    recipe = tmp_path / "four.toml"
    recipe.write_text(tiny_recipe.read_text().replace("steps = 3", "steps = 4"))
    out = tmp_path / "run"
    out.mkdir()
    for earlier in ("ae", "teacher")[: train.STAGES.index(stage)]:
        shutil.copy(trained_run / f"{earlier}_final.pt", out)
    real_step = train.StageRun.train_step

    def dying_step(self, pool, frac):
        if self.step == kill:
            raise _Killed
        return real_step(self, pool, frac)

    monkeypatch.setattr(train.StageRun, "train_step", dying_step)
    with pytest.raises(_Killed):
        train.main(train_args(recipe, photos_dir, out, stage))
    assert not (out / f"{stage}_final.pt").exists()
    assert _ck(out / f"{stage}.pt")["step"] == kill
    monkeypatch.setattr(train.StageRun, "train_step", real_step)
    assert train.main(train_args(recipe, photos_dir, out, stage)) == 0
    records = [r for r in _log(out) if r["stage"] == stage]
    starts = [r["step"] for r in records if r.get("event") == "start"]
    assert starts == [0, kill]
    trained = [r["step"] for r in records if "l1" in r]
    assert trained == [1, 2, 3, 4]
    final = _ck(out / f"{stage}_final.pt")
    assert final["step"] == 4 and final["done"]
    if stage == "prune":
        # anneal_end = 0.5: the heavy modules went at step 2, before the kill; the resumed
        # run rebuilt the pruned student from the step-3 checkpoint and did not prune again.
        assert _ck(out / "prune.pt")["pruned"] is True
        assert final["pruned"] is True
        assert [r["step"] for r in records if r.get("event") == "pruned"] == [2]
