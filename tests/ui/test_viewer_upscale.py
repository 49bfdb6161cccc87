"""Upscale on the worker thread: tiles, cancel, latency probe, save round trip, batch queue."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from viewer_helpers import ICC, GapProbe, blocks, drop_files

from pocketsr.engine.imageio import read_image, write_image
from pocketsr.ui.queue import Status
from pocketsr.ui.settings import PanelOptions


def test_upscale_paints_tiles_as_they_finish(qtbot, window, image_file: Path) -> None:
    drop_files(window, [image_file])
    window.panel.tile.setValue(24)
    tiles = []
    window.runner.progressed.connect(lambda job, p: tiles.append(p))
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.upscale()
    assert len([p for p in tiles if p.done]) > 1
    assert window.result.shape == (48 * 4, 64 * 4, 3)
    assert window.canvas.result_image().size().width() == 256
    assert window.save_action.isEnabled() and not window.busy


def _slow_job(qtbot, window, slow_model: Path, tmp_path: Path, tile: int = 96) -> None:
    big = write_image(tmp_path / "big.png", blocks(768, 768))
    drop_files(window, [big])
    window.panel.set_options(PanelOptions(model=str(slow_model), tile=tile, device="cpu"))
    # Load the model outside the measurement.
    window.cache.get(str(slow_model), "cpu")


def test_cancel_stops_within_a_tile_and_the_ui_stays_usable(
    qtbot, window, slow_model: Path, tmp_path: Path
) -> None:
    _slow_job(qtbot, window, slow_model, tmp_path)
    tiles: list[int] = []
    window.runner.progressed.connect(lambda job, p: tiles.append(p.done))
    window.upscale()
    qtbot.waitUntil(lambda: any(tiles), timeout=20_000)
    started = time.perf_counter()
    with qtbot.waitSignal(window.runner.cancelled, timeout=10_000):
        window.cancel()
    took = time.perf_counter() - started
    assert took < 1.0, f"cancel took {took:.2f} s"
    assert max(tiles) < 64  # stopped early (8×8 tiles)
    assert not window.busy and window.upscale_action.isEnabled()
    assert window.result is None and window.canvas.result_image() is None
    window.panel.set_options(PanelOptions(model=str(slow_model), tile=0, device="cpu"))
    window.panel.scale.setCurrentIndex(window.panel.scale.findData(1.0))
    with qtbot.waitSignal(window.runner.finished, timeout=30_000):
        window.upscale()
    assert window.result.shape == (768, 768, 3)


def test_event_loop_latency_during_upscale(
    qtbot, window, slow_model: Path, tmp_path: Path, record_property
) -> None:
    _slow_job(qtbot, window, slow_model, tmp_path)
    gaps = []
    # A freeze caused by the viewer shows in every run; one noisy run on a loaded shared
    # machine (other processes) does not fail the test, so the best of three counts.
    for _attempt in range(3):
        probe = GapProbe()
        probe.start()
        started = time.perf_counter()
        with qtbot.waitSignal(window.runner.finished, timeout=60_000):
            window.upscale()
        lasted = time.perf_counter() - started
        probe.stop()
        assert lasted > 0.3, "the job must last long enough to measure anything"
        assert probe.ticks > 10
        gaps.append(probe.max_gap)
        print(f"upscale {lasted:.2f} s, max event-loop gap {probe.max_gap * 1000:.1f} ms")
        if probe.max_gap < 0.100:
            break
    record_property("max_gap_ms", round(min(gaps) * 1000, 1))
    assert min(gaps) < 0.100, f"the interface froze for {min(gaps) * 1000:.0f} ms in every run"


def test_save_round_trip_keeps_16_bit_and_icc(
    qtbot, window, deep_file: Path, tmp_path: Path
) -> None:
    drop_files(window, [deep_file])
    assert window.image.pixels.dtype == np.uint16
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.upscale()
    out = tmp_path / "out" / "deep-x4.png"
    out.parent.mkdir()
    assert window.save_to(out)
    saved = read_image(out)
    assert saved.pixels.dtype == np.uint16
    assert saved.pixels.shape == (32 * 4, 40 * 4, 3)
    assert saved.meta.icc == ICC
    assert np.array_equal(saved.pixels, window.result)
    # Overwriting asks first; "no" leaves the file alone.
    stamp = out.stat().st_mtime_ns
    window.confirm_overwrite = lambda path: False
    assert not window.save_to(out)
    assert out.stat().st_mtime_ns == stamp
    window.confirm_overwrite = lambda path: True
    assert window.save_to(out, bit_depth=8)
    assert read_image(out).pixels.dtype == np.uint8
    tiff = tmp_path / "out" / "deep-x4.tif"
    assert window.save_to(tiff)
    assert read_image(tiff).pixels.dtype == np.uint16 and read_image(tiff).meta.icc == ICC
    assert window.save_to(tmp_path / "out" / "deep-x4.jpg")
    assert window.save_to(tmp_path / "out" / "deep-x4.webp")
    assert not window.save_to(tmp_path / "out" / "deep-x4.bmp")
    assert "bmp" in window.last_message.lower()


def test_queue_of_three_with_one_bad_file(
    qtbot, window, image_file: Path, corrupt_file: Path, tmp_path: Path
) -> None:
    second = write_image(tmp_path / "second.png", blocks(24, 16))
    drop_files(window, [image_file, corrupt_file, second])
    queue = window.queue
    assert len(queue.items) == 3
    out = tmp_path / "results"
    out.mkdir()
    queue.set_output_folder(str(out))
    with qtbot.waitSignal(queue.finished, timeout=30_000):
        queue.start()
    statuses = [item.status for item in queue.items]
    assert statuses == [Status.DONE, Status.FAILED, Status.DONE]
    assert "broken.png" in queue.items[1].message
    assert sorted(p.name for p in out.iterdir()) == ["photo-upscaled.png", "second-upscaled.png"]
    assert read_image(out / "second-upscaled.png").pixels.shape == (64, 96, 3)
    assert "Error" in queue.table.item(1, 1).text()


def test_queue_cancel_one_and_all(qtbot, window, slow_model: Path, tmp_path: Path) -> None:
    window.panel.set_options(PanelOptions(model=str(slow_model), tile=96, device="cpu"))
    paths = [write_image(tmp_path / f"q{i}.png", blocks(384, 384)) for i in range(3)]
    queue = window.queue
    queue.add(paths)
    queue.set_output_folder(str(tmp_path))
    queue.cancel(2)  # a waiting item
    assert queue.items[2].status is Status.CANCELLED
    with qtbot.waitSignal(queue.finished, timeout=30_000):
        queue.start()
        qtbot.waitUntil(lambda: queue.items[0].status is Status.RUNNING, timeout=5_000)
        queue.cancel_all()
    assert [i.status for i in queue.items] == [Status.CANCELLED] * 3
    assert not list(tmp_path.glob("q*-upscaled*"))
