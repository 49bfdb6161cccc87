"""The strength mix in PyTorch (model/mixing.py) against the engine's, and the mix training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from model_world import train_args

from pocketsr.engine.modelinfo import load_model_info
from pocketsr.engine.strength import WeightBlend
from pocketsr.model import export, train
from pocketsr.model.mixing import mixed_forward, partner_weights


def _export_pair(run: Path, folder: Path) -> tuple[Path, Path]:
    fidelity, detail = folder / "tiny-fidelity.onnx", folder / "tiny.onnx"
    for ck, out, partner, strength in (
        ("refine_final.pt", fidelity, "tiny", "0"),
        ("detail_final.pt", detail, "tiny-fidelity", "1"),
    ):
        args = [str(run / ck), str(out), "--name", out.stem, "--partner", partner]
        assert export.main([*args, "--strength", strength]) == 0
    return fidelity, detail


def test_the_pytorch_mix_is_the_engines_mix(trained_run, tmp_path):
    fidelity_path, _ = _export_pair(trained_run, tmp_path)
    fidelity, _ = export.load_checkpoint_model(trained_run / "refine_final.pt")
    partner = partner_weights(trained_run / "detail_final.pt", fidelity, torch.device("cpu"))
    blend = WeightBlend(load_model_info(fidelity_path))
    x = torch.rand(1, 3, 24, 32)
    gaps = []
    for strength in (0.0, 0.3, 0.75):
        with torch.no_grad():
            ours = mixed_forward(fidelity, partner, strength, x).clamp(0, 1).numpy()
        sess = ort.InferenceSession(blend.model_bytes(strength), providers=["CPUExecutionProvider"])
        gaps.append(float(np.abs(sess.run(None, {"lr": x.numpy()})[0] - ours).max()))
    assert max(gaps) < 1e-4, gaps
    # The mix is not either end: the check above would hold trivially if nothing was mixed.
    with torch.no_grad():
        ends = [mixed_forward(fidelity, partner, s, x) for s in (0.0, 0.5, 1.0)]
    assert (ends[1] - ends[0]).abs().max() > 1e-3 and (ends[1] - ends[2]).abs().max() > 1e-3


def test_refine_trains_its_mixes_with_a_frozen_partner(
    tmp_path, trained_run, tiny_recipe, photos_dir, tiny_teacher_cache
):
    cache = tiny_teacher_cache
    detail = trained_run / "detail_final.pt"
    before = detail.read_bytes()
    out = tmp_path / "run"
    args = train_args(
        tiny_recipe,
        photos_dir,
        out,
        "refine",
        "--init",
        str(trained_run / "refine_final.pt"),
        "--teacher-cache",
        str(cache),
        "--partner",
        str(detail),
        "--set",
        "mix=0.5",
        "--set",
        "grid=10",
        "--steps",
        "12",
    )
    assert train.main(args) == 0
    records = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    mixes = [r for r in records if "mix_l1" in r]
    ends = [r for r in records if "l1" in r and "mix_l1" not in r]
    assert mixes and ends  # both kinds of step ran (seeded draw: 12 steps at 1/2)
    assert all(0 <= r["strength"] <= 1 and r["mix_grid"] >= 0 for r in mixes)
    assert detail.read_bytes() == before  # the partner is read, never written
    final = torch.load(out / "refine_final.pt", map_location="cpu", weights_only=False)
    start = torch.load(trained_run / "refine_final.pt", map_location="cpu", weights_only=False)
    moved = [not torch.equal(final["ema"][k], start["ema"][k]) for k in start["ema"]]
    assert any(moved)


def test_mix_settings_without_their_parts_are_clear_errors(
    tmp_path, trained_run, tiny_recipe, photos_dir
):
    start = str(trained_run / "refine_final.pt")
    base = train_args(tiny_recipe, photos_dir, tmp_path / "a", "refine", "--init", start)
    with pytest.raises(SystemExit, match="--set mix needs --partner"):
        train.main([*base, "--set", "mix=0.5"])
    partner = str(trained_run / "detail_final.pt")
    with pytest.raises(SystemExit, match="--partner needs --teacher-cache"):
        train.main([*base, "--partner", partner])
    plain = train_args(tiny_recipe, photos_dir, tmp_path / "b", "plain", "--partner", partner)
    with pytest.raises(SystemExit, match="use it with --stage refine"):
        train.main(plain)


def test_a_teacher_cache_a_stage_would_ignore_is_a_clear_error(
    tmp_path, trained_run, tiny_recipe, photos_dir, tiny_teacher_cache
):
    start = str(trained_run / "detail_final.pt")
    cache = str(tiny_teacher_cache)
    for stage in ("gan", "refine"):
        args = train_args(tiny_recipe, photos_dir, tmp_path / stage, stage, "--init", start)
        with pytest.raises(SystemExit, match=f"stage {stage} would ignore it"):
            train.main([*args, "--teacher-cache", cache])
