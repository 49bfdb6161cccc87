"""The GIMP 2.10 plug-in (gimpfu entry + shim + shared adapter) under a REAL Python 2.7.

THIS USES A MOCK GIMP: no GIMP 2.10 with Python exists on Debian (it dropped Python 2 plug-in
support), so the plug-in, installed with the GIMP 2.10 layout, runs against
fake_gimpfu/gimpfu.py, a minimal stand-in that records calls and holds 8-bit pixels. The
engine side is real: the bridge starts this venv's worker and the pixels are compared with
the engine's own result. What only real GIMP 2.10 could show (dialogs, display, real
selection compositing) is not covered here; the same adapter is tested in real GIMP 3.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hostutil import engine_python, install_plugin, raw

from pocketsr.engine import Upscaler
from pocketsr.engine.types import Rect

DRIVER = Path(__file__).with_name("gimpfu_driver.py")
RGBA_IMAGE, GRAY_IMAGE = 1, 2
# Positional arguments after image and drawable, in the registered order:
# scale, target-width, target-height, model, output (index), tile, device (index).
NEW_LAYER, NEW_IMAGE, REPLACE = 0, 1, 2


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("gimp2-home")
    profile = home / ".config" / "GIMP" / "2.10"
    install_plugin("gimp2", home, profile)
    return profile / "plug-ins"


@pytest.fixture(scope="module")
def engine() -> Upscaler:
    return Upscaler(model="pocketsr-nano")


def drive(
    python27: str, plugins: Path, tmp: Path, image: np.ndarray, python: str = "", **spec
) -> dict:
    """Run the driver under Python 2.7 on one image; return its report."""
    pixels = tmp / "in.raw"
    pixels.write_bytes(image.tobytes())
    h, w, c = image.shape
    spec.setdefault("layer_type", RGBA_IMAGE if c == 4 else GRAY_IMAGE)
    spec.setdefault("offsets", [0, 0])
    spec.setdefault("image_size", [w, h])
    spec.update(plugin_dir=str(plugins), pixels=str(pixels), layer_size=[w, h], out=str(tmp))
    spec_path = tmp / "spec.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, POCKETSR_PYTHON=python or engine_python())
    env["POCKETSR_LOG_DIR"] = str(tmp / "logs")
    env.pop("POCKETSR_CONFIG", None)
    proc = subprocess.run(
        [python27, "-B", str(DRIVER), str(spec_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _names(calls: list) -> list[str]:
    return [c[0] for c in calls]


def _rgba(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return rng.integers(0, 256, (h, w, 4), dtype=np.uint8)


def test_registration_matches_the_gimp3_procedure(python27, plugins, tmp_path):
    image = _rgba(np.random.default_rng(1), 8, 8)
    report = drive(python27, plugins, tmp_path, image, args=[2, 0, 0, "", 0, 0, 0])
    assert report["python"].startswith("2.7")
    assert report["name"] == "python-fu-pocketsr-upscale"
    assert report["menu"] == "<Image>/Filters"
    names = [p[1] for p in report["params"]]
    args = ["scale", "target-width", "target-height", "model", "output", "tile", "device"]
    assert names == ["image", "drawable", *args, "strength", "alpha-mode", "seamless"]


def test_strength_alpha_mode_and_seamless_reach_the_engine(python27, plugins, tmp_path, engine):
    image = _rgba(np.random.default_rng(9), 12, 14)
    model_alpha = 1  # the index of "model" in the Alpha option
    args = [2, 0, 0, "pocketsr-nano", NEW_LAYER, 0, 0, 0.25, model_alpha, True]
    report = drive(python27, plugins, tmp_path, image, args=args)
    got = raw(report["layers"][0]["pixels"], "uint8", 28, 24, 4)
    options = {"strength": 0.25, "alpha_mode": "model", "seamless": True}
    np.testing.assert_array_equal(got, engine.upscale(image, scale=2, **options))
    assert not np.array_equal(got, engine.upscale(image, scale=2))
    # The status bar follows the engine's tiles, with the time left once it is known.
    texts = [c[1] for c in report["calls"] if c[0] == "progress_init"]
    assert any("tile 1 of 1" in t for t in texts), texts


def test_new_layer_at_xn_in_one_undo_group(python27, plugins, tmp_path, engine):
    image = _rgba(np.random.default_rng(2), 16, 20)
    report = drive(
        python27,
        plugins,
        tmp_path,
        image,
        offsets=[2, 3],
        image_size=[24, 20],
        args=[2, 0, 0, "pocketsr-nano", NEW_LAYER, 0, 0],
    )
    names = _names(report["calls"])
    assert names.count("undo_group_start") == names.count("undo_group_end") == 1
    first, last = names.index("undo_group_start"), names.index("undo_group_end")
    assert first < names.index("gimp_image_scale") < names.index("insert_layer") < last
    assert "message" not in names
    assert report["size"] == [48, 40]
    top = report["layers"][0]
    assert top["size"] == [40, 32] and top["offsets"] == [4, 6] and not top["mask"]
    got = raw(top["pixels"], "uint8", 40, 32, 4)
    np.testing.assert_array_equal(got, engine.upscale(image, scale=2))


def test_selection_is_placed_and_masked(python27, plugins, tmp_path, engine):
    image = _rgba(np.random.default_rng(3), 24, 28)
    report = drive(
        python27,
        plugins,
        tmp_path,
        image,
        selection=[5, 4, 10, 8],
        args=[4, 0, 0, "", NEW_LAYER, 0, 0],
    )
    top = report["layers"][0]
    assert top["size"] == [40, 32] and top["offsets"] == [20, 16] and top["mask"]
    assert "create_mask" in _names(report["calls"])
    got = raw(top["pixels"], "uint8", 40, 32, 4).astype(int)
    expected = engine.upscale(image, roi=Rect(5, 4, 10, 8), scale=4).astype(int)
    assert np.abs(got - expected).max() <= 8  # box + 32 px context vs the whole layer


def test_replace_writes_through_the_shadow(python27, plugins, tmp_path, engine):
    image = _rgba(np.random.default_rng(4), 12, 10)
    report = drive(python27, plugins, tmp_path, image, args=[2, 0, 0, "", REPLACE, 0, 0])
    assert len(report["layers"]) == 1
    assert "merge_shadow" in _names(report["calls"])
    got = raw(report["layers"][0]["pixels"], "uint8", 20, 24, 4)
    np.testing.assert_array_equal(got, engine.upscale(image, scale=2))


def test_indexed_image_gets_a_clear_message_and_no_change(python27, plugins, tmp_path):
    image = _rgba(np.random.default_rng(5), 8, 8)
    report = drive(python27, plugins, tmp_path, image, indexed=True, args=[2, 0, 0, "", 0, 0, 0])
    messages = [c[1] for c in report["calls"] if c[0] == "message"]
    assert len(messages) == 1 and "indexed" in messages[0] and "RGB" in messages[0]
    assert "undo_group_start" not in _names(report["calls"])
    assert report["size"] == [8, 8] and len(report["layers"]) == 1


def test_missing_engine_tells_what_to_do(python27, plugins, tmp_path):
    image = _rgba(np.random.default_rng(6), 8, 8)
    missing = str(tmp_path / "no-engine" / "python")
    report = drive(python27, plugins, tmp_path, image, python=missing, args=[2, 0, 0, "", 0, 0, 0])
    messages = [c[1] for c in report["calls"] if c[0] == "message"]
    assert len(messages) == 1 and missing in messages[0] and "installer" in messages[0]
    assert "undo_group_start" not in _names(report["calls"])
    assert report["size"] == [8, 8] and len(report["layers"]) == 1
