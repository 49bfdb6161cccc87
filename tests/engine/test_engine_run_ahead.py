"""run_ahead: one result computed ahead in a worker thread, in order, errors where they arose."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from onnx_models import make_sr_model

from pocketsr.engine import Upscaler
from pocketsr.engine.errors import Cancelled
from pocketsr.engine.run_ahead import run_ahead
from pocketsr.engine.types import CancelToken


def test_results_come_in_order_with_their_items() -> None:
    assert list(run_ahead(range(7), lambda n: n * n)) == [(n, n * n) for n in range(7)]
    assert list(run_ahead([], lambda n: n)) == []


def test_the_next_compute_runs_while_the_caller_works() -> None:
    started: list[int] = []
    events = {n: threading.Event() for n in range(3)}

    def compute(n: int) -> int:
        started.append(n)
        events[n].set()
        return n

    seen = []
    for item, _ in run_ahead(range(3), compute):
        if item < 2:
            # The caller has not asked for item + 1 yet, but its compute starts anyway.
            assert events[item + 1].wait(5)
        seen.append(item)
    assert seen == [0, 1, 2] and started == [0, 1, 2]


def test_an_error_is_raised_at_its_item_in_the_callers_thread() -> None:
    def compute(n: int) -> int:
        if n == 2:
            raise ValueError("bad item")
        return n

    got = []
    with pytest.raises(ValueError, match="bad item"):
        for item, _ in run_ahead(range(5), compute):
            got.append(item)
    assert got == [0, 1]


def test_closing_early_waits_for_the_compute_in_flight_and_starts_no_more() -> None:
    running = threading.Event()
    finished: list[int] = []

    def compute(n: int) -> int:
        if n == 1:
            running.set()
            time.sleep(0.3)
        finished.append(n)
        return n

    outputs = run_ahead(range(10), compute)
    assert next(outputs)[0] == 0
    assert running.wait(5)
    outputs.close()  # what a caller's error or break does
    assert finished == [0, 1]  # item 1 ran to its end before close returned; no item 2
    time.sleep(0.1)
    assert finished == [0, 1]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return make_sr_model(tmp_path_factory.mktemp("ahead") / "sr.onnx")


def test_tiles_run_ahead_give_the_same_image(model: Path) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (150, 130, 4), dtype=np.uint8)
    outputs = []
    for ahead in (False, True):
        upscaler = Upscaler(model, device="cpu", threads=1, run_ahead=ahead)
        outputs.append(upscaler.upscale(image, tile=48, alpha_mode="model"))
    assert outputs[0].shape == (600, 520, 4)
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_cancel_from_progress_stops_ahead_tiles_and_leaves_the_engine_usable(model: Path) -> None:
    upscaler = Upscaler(model, device="cpu", threads=1, run_ahead=True)
    image = np.full((120, 120, 3), 128, np.uint8)
    token = CancelToken()
    reports = []

    def progress(report) -> None:
        reports.append(report.done)
        if report.done == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        upscaler.upscale(image, tile=40, progress=progress, cancel=token)
    assert reports == [1, 2]
    assert upscaler.upscale(image, tile=40).shape == (480, 480, 3)


def test_tiles_run_ahead_only_where_a_run_leaves_cores_idle(model: Path, monkeypatch) -> None:
    monkeypatch.setattr("pocketsr.engine.session.os.cpu_count", lambda: 4)
    assert Upscaler(model, device="cpu", threads=2).run_ahead
    assert not Upscaler(model, device="cpu", threads=4).run_ahead
    assert not Upscaler(model, device="cpu").run_ahead  # ONNX Runtime takes every core
    assert Upscaler(model, device="cpu", run_ahead=True).run_ahead
