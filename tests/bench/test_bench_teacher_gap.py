"""bench/teacher_gap.py: a model's distance to cached teacher outputs, trained and held out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import teacher_gap
from pocketsr.engine.session import ModelSession


def _shard(path: Path, model: Path, seed: int, offset: int) -> None:
    """A shard whose teacher output is the model's own (rounded) and truth is `offset` above."""
    rng = np.random.default_rng(seed)
    lr = rng.integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)
    x = np.ascontiguousarray(lr.transpose(0, 3, 1, 2).astype(np.float32) / 255)
    out = ModelSession(str(model), device="cpu", threads=1).run(x)
    teacher = np.round(np.clip(out, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    hr = np.clip(teacher.astype(int) + offset, 0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, lr=lr, teacher=teacher, hr=hr)


def test_the_gap_is_measured_on_the_trained_and_the_held_out_shard(sr_model_x4, tmp_path, capsys):
    cache = tmp_path / "teacher-pairs" / "key"
    _shard(cache / "shard_00000.npz", sr_model_x4, 0, 0)
    _shard(teacher_gap.held_out_path(cache, 7), sr_model_x4, 1, 0)
    gap = teacher_gap.gap(sr_model_x4, cache / "shard_00000.npz")
    assert gap.to_teacher <= 0.5 and gap.to_truth <= 0.5  # its own output, rounded to 8 bits
    assert teacher_gap.main([str(sr_model_x4), "--cache", str(cache), "--index", "7"]) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    assert row.startswith(str(sr_model_x4))
    trained, held = (float(cell.split(" / ")[0]) for cell in row.split(" | ")[1:])
    assert trained <= 0.5 and held <= 0.5


def test_the_truth_column_is_the_distance_to_the_ground_truth(sr_model_x4, tmp_path):
    shard = tmp_path / "shard_00000.npz"
    _shard(shard, sr_model_x4, 2, 40)
    gap = teacher_gap.gap(sr_model_x4, shard)
    assert gap.to_teacher <= 0.5 and 20 < gap.to_truth <= 40.5


def test_a_held_out_index_inside_the_cache_or_without_photos_is_refused(sr_model_x4, tmp_path):
    cache = tmp_path / "teacher-pairs" / "key"
    _shard(cache / "shard_00000.npz", sr_model_x4, 0, 0)
    with pytest.raises(SystemExit, match="is in the training cache"):
        teacher_gap.ensure_held_out(cache, 0, [tmp_path])
    with pytest.raises(SystemExit, match="give --data"):
        teacher_gap.ensure_held_out(cache, 3, [])
    empty = tmp_path / "empty"
    with pytest.raises(SystemExit, match="is empty"):
        teacher_gap.main([str(sr_model_x4), "--cache", str(empty)])
