"""The same bridge, loaded by a REAL Python 2.7 (GIMP 2.10's), talking to the venv's worker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from bridge_testutil import BRIDGE_FILE, cancel_tiles, fake_python, load_onnx_models, make_pixels

import pocketsr
from pocketsr.engine import Upscaler

DRIVER = Path(__file__).with_name("py27_driver.py")


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory):
    """A model slow enough (about 15 ms a tile) for cancel and crash mid-job."""
    path = tmp_path_factory.mktemp("slow27") / "slow-sr4.onnx"
    return load_onnx_models().make_sr_model(path, scale=4, layers=6, features=32)


def drive(python27: str, tmp: Path, mode: str, **spec) -> dict:
    """Run the driver under Python 2.7 in a mode and return its report."""
    spec.update(mode=mode, bridge_dir=str(BRIDGE_FILE.parent), log_dir=str(tmp / "logs"))
    spec.setdefault("python", sys.executable)
    spec_path = tmp / f"{mode}.json"
    spec_path.write_text(json.dumps(spec))
    proc = subprocess.run(
        [python27, "-B", str(DRIVER), str(spec_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _job(tmp: Path, name: str, image: np.ndarray, **extra) -> dict:
    path = tmp / f"{name}.in"
    path.write_bytes(image.tobytes())
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    job = {"in": str(path), "out": str(tmp / f"{name}.out"), "width": w, "height": h}
    job.update(channels=channels, dtype=str(image.dtype), **extra)
    return job


def test_interpreter_is_really_python27(python27):
    out = subprocess.run(
        [python27, "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "(2, 7)"


def test_handshake_and_info(python27, tmp_path):
    report = drive(python27, tmp_path, "handshake")
    assert report["python"].startswith("2.7")
    assert report["info"]["engine_version"] == pocketsr.__version__
    assert "cpu" in report["info"]["devices"]


@pytest.mark.parametrize("threshold", [4 << 20, 1024], ids=["pipe", "files"])
def test_round_trips_match_the_engine(python27, tmp_path, sr_model, threshold):
    options = {"model": str(sr_model), "tile": 16}
    images = {
        "rgba8": make_pixels(33, 21, 4, "uint8", seed=1),
        "rgb16": make_pixels(19, 27, 3, "uint16", seed=2),
        "grayf32": make_pixels(25, 17, 1, "float32", seed=3),
    }
    jobs = [_job(tmp_path, name, image, options=options) for name, image in images.items()]
    jobs[1]["roi"] = [2, 3, 11, 13]
    report = drive(python27, tmp_path, "roundtrip", jobs=jobs, file_threshold=threshold)
    engine = Upscaler(model=str(sr_model))
    for job, got, image in zip(jobs, report["jobs"], images.values(), strict=True):
        assert got["type"] == "str"  # Python 2's bytes
        want = engine.upscale(image, roi=job.get("roi"), tile=16)
        data = np.fromfile(job["out"], dtype=want.dtype).reshape(want.shape)
        np.testing.assert_array_equal(data, want)
        assert got["progress"] == list(range(1, len(got["progress"]) + 1))
        assert got["tile_bytes"] == want.nbytes


def test_cancel_under_python27(python27, tmp_path, slow_model):
    options = {"model": str(slow_model), "tile": 64}
    jobs = [
        _job(tmp_path, "big", make_pixels(384, 384, 3, "uint8"), options=options),
        _job(tmp_path, "small", make_pixels(16, 16, 3, "uint8"), options=options),
    ]
    report = drive(python27, tmp_path, "cancel", jobs=jobs)
    print(f"py2.7 cancel latency {report['latency'] * 1000:.0f} ms")
    assert report["outcome"].startswith("cancelled")
    at, stopped = cancel_tiles((tmp_path / "logs" / "worker.log").read_text().splitlines())
    assert stopped - at <= 1 and report["total"] > 20
    assert report["latency"] < 2.0
    assert report["next_width"] == 64 and report["same_worker"]


def test_crash_under_python27(python27, tmp_path, slow_model):
    options = {"model": str(slow_model), "tile": 64}
    jobs = [
        _job(tmp_path, "big", make_pixels(384, 384, 3, "uint8"), options=options),
        _job(tmp_path, "small", make_pixels(16, 16, 3, "uint8"), options=options),
    ]
    report = drive(python27, tmp_path, "crash", jobs=jobs)
    assert "was killed by SIGKILL" in report["outcome"] and "worker.log" in report["outcome"]
    assert report["next_width"] == 64
    first, second = report["pids"]
    assert second != first and report["log_lines"] == 5


def test_version_mismatch_under_python27(python27, tmp_path):
    report = drive(python27, tmp_path, "mismatch")
    assert "plug-in 0.1.0 (protocol 99) needs a PocketSR engine" in report["outcome"]


def test_garbage_under_python27(python27, tmp_path):
    python = fake_python(tmp_path, "echo 'Welcome!'; exec sleep 30")
    report = drive(python27, tmp_path, "garbage", python=python)
    assert report["outcome"].startswith("protocol: ") and report["seconds"] < 5
