"""The bridge against the real worker and a real ONNX model: results, progress, tiles, info."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
from bridge_testutil import make_pixels

import pocketsr
from pocketsr.engine import Upscaler
from pocketsr.plugin import bridge


@pytest.fixture(scope="module")
def direct(sr_model):
    """The engine called in this process, the reference for every round trip."""
    return Upscaler(model=str(sr_model))


def _from_result(result: bridge.UpscaleResult) -> np.ndarray:
    shape = (result.height, result.width)
    if result.channels > 1:
        shape += (result.channels,)
    return np.frombuffer(result.data, dtype=result.dtype).reshape(shape)


def _call(b, image: np.ndarray, **kwargs) -> np.ndarray:
    channels = 1 if image.ndim == 2 else image.shape[2]
    h, w = image.shape[:2]
    result = b.upscale(image.tobytes(), w, h, channels, str(image.dtype), **kwargs)
    assert result.dtype == str(image.dtype) and result.channels == channels
    return _from_result(result)


def test_info_lists_engine_models_and_devices(make_bridge, sr_model):
    b = make_bridge(models_dir=str(sr_model.parent))
    info = b.info()
    assert info["engine_version"] == pocketsr.__version__
    assert info["protocol"] == bridge.PROTOCOL_VERSION
    assert "cpu" in info["devices"]
    assert sr_model.stem in [m["name"] for m in info["models"]]
    assert info["log_path"] == b.log_path
    image = make_pixels(6, 5, 3, "uint8")
    by_name = _call(b, image, options={"model": sr_model.stem})  # found in models_dir
    assert by_name.shape == (20, 24, 3)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32"])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_round_trip_matches_the_engine(shared_bridge, direct, sr_model, dtype, channels):
    image = make_pixels(37, 23, channels, dtype, seed=channels)
    if channels == 4:
        image[..., 3] = image[..., 3] if dtype == "float32" else image[..., 3] // 2
    got = _call(shared_bridge, image, options={"model": str(sr_model)})
    np.testing.assert_array_equal(got, direct.upscale(image))


def test_roi_scale_and_tile_options(shared_bridge, direct, sr_model):
    image = make_pixels(41, 29, 4, "uint16", seed=3)
    options = {"model": str(sr_model), "scale": 2, "tile": 16}
    got = _call(shared_bridge, image, roi=(5, 3, 21, 17), options=options)
    want = direct.upscale(image, roi=(5, 3, 21, 17), scale=2, tile=16)
    assert got.shape == (34, 42, 4)
    np.testing.assert_array_equal(got, want)


def test_progress_order_and_tiles_rebuild_the_result(shared_bridge, sr_model):
    image = make_pixels(50, 34, 3, "uint8", seed=5)
    events, canvas = [], np.zeros((136, 200, 3), np.uint8)
    covered = np.zeros(canvas.shape[:2], np.int32)

    def on_tile(x, y, w, h, data):
        canvas[y : y + h, x : x + w] = np.frombuffer(data, np.uint8).reshape(h, w, 3)
        covered[y : y + h, x : x + w] += 1

    got = _call(
        shared_bridge,
        image,
        options={"model": str(sr_model), "tile": 16},
        on_progress=events.append,
        on_tile=on_tile,
    )
    total = events[0].total
    assert total > 4
    assert [e.done for e in events] == list(range(1, total + 1))
    assert all(e.total == total for e in events) and events[-1].eta == 0
    assert (covered == 1).all()
    np.testing.assert_array_equal(canvas, got)


def test_big_payloads_travel_through_files(make_bridge, sr_model, monkeypatch):
    b = make_bridge(file_threshold=1024)
    paths, seen = [], []
    original = b._transfer_path
    monkeypatch.setattr(b, "_transfer_path", lambda *a: paths.append(original(*a)) or paths[-1])
    image = make_pixels(64, 48, 4, "float32", seed=7)
    tiles = []

    def on_progress(p):
        seen.append([os.path.exists(path) for path in paths])

    got = _call(
        b,
        image,
        options={"model": str(sr_model), "tile": 32},
        on_progress=on_progress,
        on_tile=lambda x, y, w, h, data: tiles.append(len(data) == w * h * 16),
    )
    assert [os.path.basename(p) for p in paths] == ["job2-in.raw", "job2-out.raw"]
    assert seen and all(s == [True, True] for s in seen) and all(tiles)
    assert not any(os.path.exists(p) for p in paths)  # removed after the job
    inline = make_bridge()
    want = _call(inline, image, options={"model": str(sr_model), "tile": 32})
    np.testing.assert_array_equal(got, want)


def test_engine_errors_keep_their_code_and_the_worker_lives_on(shared_bridge, sr_model):
    image = make_pixels(10, 10, 3, "uint8")
    with pytest.raises(bridge.EngineError) as info:
        _call(shared_bridge, image, roi=(5, 5, 10, 10), options={"model": str(sr_model)})
    assert info.value.code == "invalid_option" and "ROI" in str(info.value)
    with pytest.raises(bridge.EngineError) as info:
        _call(shared_bridge, image, options={"model": "/no/such/model.onnx"})
    assert info.value.code == "model"
    pid = shared_bridge.worker_pid
    assert _call(shared_bridge, image, options={"model": str(sr_model)}).shape == (40, 40, 3)
    assert shared_bridge.worker_pid == pid


def test_wrong_buffer_size_is_refused_before_sending(shared_bridge):
    with pytest.raises(bridge.EngineError, match="needs 12 bytes, got 11"):
        shared_bridge.upscale(b"\0" * 11, 2, 2, 3, "uint8")


def test_in_process_engine_has_the_same_api_and_results(shared_bridge, sr_model, tmp_path):
    engine = bridge.connect({"in_process": True, "log_dir": str(tmp_path)})
    assert isinstance(engine, bridge.InProcessEngine)
    assert engine.info()["engine_version"] == pocketsr.__version__
    image = make_pixels(30, 20, 4, "uint16", seed=9)
    events, tiles = [], []
    local = _call(
        engine,
        image,
        options={"model": str(sr_model), "tile": 16},
        on_progress=events.append,
        on_tile=lambda *a: tiles.append(a[:4]),
    )
    remote = _call(shared_bridge, image, options={"model": str(sr_model), "tile": 16})
    np.testing.assert_array_equal(local, remote)
    assert events[-1].done == events[-1].total == len(tiles)
    with pytest.raises(bridge.CancelledError):
        _call(engine, image, options={"model": str(sr_model)}, is_cancelled=lambda: True)
    engine.close()


def test_worker_log_has_the_jobs(shared_bridge, sr_model):
    _call(shared_bridge, make_pixels(8, 8, 3, "uint8"), options={"model": str(sr_model)})
    lines = shared_bridge.last_log_lines(50)
    assert any("8x8 -> 32x32" in line for line in lines)
    assert len(shared_bridge.last_log_lines(3)) == 3


def test_worker_command_is_the_cli_subcommand_too(tmp_path):
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "pocketsr.engine.cli", "worker"],
        input=b"",
        capture_output=True,
        timeout=60,
        env={**os.environ, "POCKETSR_LOG_DIR": str(tmp_path)},
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout == b""
    assert "stdin closed" in (tmp_path / "worker.log").read_text()
