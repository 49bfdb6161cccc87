"""Quick tests of the bench plumbing: methods, set loading, the quality report."""

import json

import numpy as np
import pytest
from PIL import Image

from bench import quality
from bench.peers import MethodUnavailable, available_methods, make_method, param_io_blobs


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _img(h, w, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_param_io_blobs(tmp_path):
    p = tmp_path / "m.param"
    p.write_text(
        "7767517\n3 3\n"
        "Input            in0   0 1 data\n"
        "Convolution      c0    1 1 data x 0=3 1=3\n"
        "BinaryOp         add   2 1 x data output\n"
    )
    assert param_io_blobs(p) == ("data", "output")


@pytest.mark.parametrize("name", ["bicubic", "lanczos"])
def test_pillow_methods_upscale_x4(name):
    m = make_method(name)
    out = m.upscale(_img(10, 7))
    assert out.shape == (40, 28, 3) and out.dtype == np.uint8


def test_ncnn_peer_runs_when_installed():
    methods, missing = available_methods(["realesr-animevideov3"])
    if missing:
        pytest.skip(missing["realesr-animevideov3"])
    out = methods[0].upscale(_img(12, 9))
    assert out.shape == (48, 36, 3) and out.dtype == np.uint8


def test_unknown_model_is_reported_not_raised():
    methods, missing = available_methods(["no-such-model-xyz"])
    assert methods == [] and "no-such-model-xyz" in missing
    with pytest.raises(MethodUnavailable):
        make_method("no-such-model-xyz")


def test_a_strength_method_runs_the_mix():
    from pocketsr.engine import Upscaler

    lr = _img(12, 10)
    mixed = make_method("pocketsr-nano@0.5").upscale(lr)
    assert np.array_equal(mixed, Upscaler("pocketsr-nano").upscale(lr, strength=0.5))
    _, missing = available_methods(["pocketsr-nano@1.5"])
    assert "strength" in missing["pocketsr-nano@1.5"]


def test_load_set_pairs_and_hr_only(tmp_path):
    _save(tmp_path / "P" / "HR" / "a.png", _img(42, 37))
    _save(tmp_path / "P" / "LRx4" / "a.png", _img(10, 9))
    _save(tmp_path / "K" / "k1.png", _img(43, 50))
    (p,) = quality.load_set(tmp_path / "P", None)
    assert p.hr.shape == (40, 36, 3) and p.lr["a"].shape == (10, 9, 3)
    (k,) = quality.load_set(tmp_path / "K", None)
    assert k.hr.shape == (40, 48, 3) and k.lr["a"].shape == (10, 12, 3)


def test_quality_main_writes_json_and_markdown(tmp_path, capsys):
    for i in range(2):
        _save(tmp_path / "eval" / "K" / f"k{i}.png", _img(64, 64, seed=i))
    md = tmp_path / "q.md"
    args = ["--data-dir", str(tmp_path), "--sets", "K", "--methods", "bicubic", "--lr", "a"]
    rc = quality.main([*args, "--no-real", "--md", str(md)])
    assert rc == 0
    report = json.loads(capsys.readouterr().out)
    r = report["results"]["bicubic"]["K"]["a"]
    assert r["n"] == 2 and 0 < r["ssim_y"] < 1
    assert report["speed"]["bicubic"]["mp_per_s"] > 0
    assert "| K (2) | bicubic |" in md.read_text()
