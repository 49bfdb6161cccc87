"""Cancel, crashes, stuck and orphaned workers, and 100 jobs without leaks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from bridge_testutil import (
    BRIDGE_FILE,
    cancel_tiles,
    load_onnx_models,
    make_pixels,
    open_fds,
    rss_kib,
    wait_gone,
)

from pocketsr.plugin import bridge


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory):
    """A heavier x4 model: about 15 ms per 64 px tile here, so jobs last long enough to stop."""
    path = tmp_path_factory.mktemp("slow") / "slow-sr4.onnx"
    return load_onnx_models().make_sr_model(path, scale=4, layers=6, features=32)


def _job(b, model, side=384, on_progress=None, is_cancelled=None):
    image = make_pixels(side, side, 3, "uint8")
    return b.upscale(
        image.tobytes(),
        side,
        side,
        3,
        "uint8",
        options={"model": str(model), "tile": 64},
        on_progress=on_progress,
        is_cancelled=is_cancelled,
    )


def test_cancel_stops_within_a_tile_and_the_next_job_works(make_bridge, slow_model):
    b = make_bridge()
    events, asked = [], []

    def is_cancelled():
        if events and not asked:
            asked.append((time.monotonic(), len(events)))
        return bool(asked)

    with pytest.raises(bridge.CancelledError):
        _job(b, slow_model, on_progress=events.append, is_cancelled=is_cancelled)
    latency = time.monotonic() - asked[0][0]
    at, stopped = cancel_tiles(b.last_log_lines(20))
    total = events[0].total
    print(f"cancel latency {latency * 1000:.0f} ms; got at tile {at}/{total}, stopped at {stopped}")
    assert stopped - at <= 1 and total > 20  # at most the tile that was running
    assert latency < 2.0
    pid = b.worker_pid
    assert _job(b, slow_model, side=32).width == 128
    assert b.worker_pid == pid  # cancelled cooperatively: same worker


def test_worker_killed_mid_job_is_a_clear_error_then_a_fresh_worker(make_bridge, slow_model):
    b = make_bridge()
    first = b.info() and b.worker_pid

    def kill_on_first(p):
        if p.done == 1:
            os.kill(first, signal.SIGKILL)

    with pytest.raises(bridge.WorkerCrashedError) as info:
        _job(b, slow_model, on_progress=kill_on_first)
    message = str(info.value)
    assert f"(pid {first}) was killed by SIGKILL" in message
    assert b.log_path in message and "not changed" in message
    assert info.value.returncode == -signal.SIGKILL and info.value.code == "worker_crashed"
    assert _job(b, slow_model, side=16).width == 64
    assert b.worker_pid not in (None, first)


def test_segfault_names_the_crash_and_shows_the_traceback(make_bridge, slow_model):
    b = make_bridge()
    pid = b.info() and b.worker_pid

    def crash(p):
        os.kill(pid, signal.SIGSEGV)

    with pytest.raises(bridge.WorkerCrashedError, match=r"SIGSEGV \(a crash in native code\)"):
        _job(b, slow_model, on_progress=crash)
    assert any("Segmentation fault" in line for line in b.last_log_lines(40))


def test_worker_that_ignores_cancel_is_killed_after_the_grace(make_bridge, slow_model):
    b = make_bridge(cancel_grace=0.5)
    pid = b.info() and b.worker_pid

    def freeze(p):
        if p.done == 1:
            os.kill(pid, signal.SIGSTOP)

    start = time.monotonic()
    with pytest.raises(bridge.CancelledError, match="did not stop within"):
        _job(b, slow_model, on_progress=freeze, is_cancelled=lambda: time.monotonic() - start > 0.3)
    assert wait_gone(pid, 2)
    assert _job(b, slow_model, side=16).width == 64


def test_worker_exits_when_its_stdin_closes(make_bridge):
    b = make_bridge()
    pid = b.info() and b.worker_pid
    b._close_stdin()
    assert wait_gone(pid, 5)
    b._reap()


# The host: starts a bridge, then forks a child that keeps the worker's stdin pipe open (so
# only the parent-death signal can stop the worker), prints the pids and waits to be killed.
HOST = """
import os, sys, time
sys.path.insert(0, os.path.dirname(BRIDGE))
import bridge
b = bridge.Bridge(python=PYTHON, config={}, log_dir=LOGS)
b.info()
child = os.fork()
if child == 0:
    time.sleep(60)
    os._exit(0)
print(b.worker_pid, child)
sys.stdout.flush()
time.sleep(60)
"""


def test_worker_dies_with_its_parent_even_if_the_pipe_stays_open(tmp_path):
    script = (
        HOST.replace("BRIDGE", repr(str(BRIDGE_FILE)))
        .replace("PYTHON", repr(sys.executable))
        .replace("LOGS", repr(str(tmp_path)))
    )
    host = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        pids = [int(v) for v in host.stdout.readline().split()]
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        assert wait_gone(pids[0], 5), "the worker outlived its parent"
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
        for pid in pids:  # the pipe holder, and the worker if the test failed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_parent_death_signal_is_armed():
    code = textwrap.dedent(
        """
        import ctypes, signal
        from pocketsr.engine.worker import set_parent_death_signal
        assert set_parent_death_signal()
        libc = ctypes.CDLL(None)
        sig = ctypes.c_int()
        libc.prctl(2, ctypes.byref(sig), 0, 0, 0)  # PR_GET_PDEATHSIG
        print(sig.value == signal.SIGTERM)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_hundred_jobs_do_not_grow_memory_or_descriptors(make_bridge, sr_model):
    b = make_bridge(file_threshold=4096)
    image = make_pixels(24, 20, 4, "uint8").tobytes()
    options = {"model": str(sr_model)}
    fds_before = None
    for i in range(100):
        b.upscale(image, 24, 20, 4, "uint8", options=options, on_tile=lambda *a: None)
        if i == 19:
            fds_before, rss_before = open_fds(), rss_kib(b.worker_pid)
            worker_fds = len(os.listdir(f"/proc/{b.worker_pid}/fd"))
    grown = rss_kib(b.worker_pid) - rss_before
    print(f"worker RSS growth over 80 jobs: {grown} KiB")
    assert open_fds() == fds_before
    assert len(os.listdir(f"/proc/{b.worker_pid}/fd")) == worker_fds
    assert grown < 4096
    assert os.listdir(b._transfer_dir) == []


def test_worker_started_from_a_finished_thread_stays_alive(make_bridge, sr_model):
    b = make_bridge()
    starter = threading.Thread(target=b.info)
    starter.start()
    starter.join()
    pid = b.worker_pid
    time.sleep(0.3)  # a parent-death signal tied to the finished thread would have fired
    image = make_pixels(8, 8, 3, "uint8").tobytes()
    assert b.upscale(image, 8, 8, 3, "uint8", options={"model": str(sr_model)}).width == 32
    assert b.worker_pid == pid
