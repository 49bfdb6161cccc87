"""The worker against hostile frames: it answers or exits, and never allocates on trust."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from pocketsr.engine import protocol

WORKER = [sys.executable, "-m", "pocketsr.engine.cli", "worker"]
HELLO = {"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "client": "test"}


def _frames(*frames: bytes) -> bytes:
    return b"".join(frames)


def _frame(header: dict, payload: bytes = b"", declared: int | None = None) -> bytes:
    body = json.dumps(header).encode()
    n = len(payload) if declared is None else declared
    return protocol.PREFIX.pack(protocol.MAGIC, len(body), n) + body + payload


def _raw_frame(body: bytes) -> bytes:
    return protocol.PREFIX.pack(protocol.MAGIC, len(body), 0) + body


def _run_worker(stdin: bytes, tmp_path, timeout: float = 30) -> tuple[int, list[protocol.Frame]]:
    """Feed the worker these bytes, close its stdin, read every frame it sends back."""
    import io

    env = {"POCKETSR_LOG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(WORKER, input=stdin, capture_output=True, timeout=timeout, env=env)
    out, frames = io.BytesIO(done.stdout), []
    while (frame := protocol.read_frame(out)) is not None:
        frames.append(frame)
    return done.returncode, frames


def test_a_deeply_nested_header_is_an_error_and_the_worker_exits(tmp_path):
    nested = b'{"type": "info", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    code, frames = _run_worker(_frames(_frame(HELLO), _raw_frame(nested)), tmp_path)
    # The reader thread reports the bad frame while the main thread answers hello: any order.
    assert {f.type for f in frames} == {"hello", "error"}
    assert any("nested too deeply" in f.header.get("message", "") for f in frames)
    assert code == 0


def test_the_worker_exits_when_its_input_closes_mid_frame(tmp_path):
    half = _frame({"type": "info"})[:7]
    code, frames = _run_worker(_frames(_frame(HELLO), half), tmp_path)
    assert code == 0 and "hello" in {f.type for f in frames}


def _peak_rss_mb(stdin: bytes, tmp_path) -> float:
    """Peak RSS (MB) of a worker fed these bytes, read by a fresh parent (its only child)."""
    script = textwrap.dedent(f"""
        import resource, subprocess, sys
        data = sys.stdin.buffer.read()
        subprocess.run({WORKER!r}, input=data, capture_output=True, timeout=60,
                       env={{"POCKETSR_LOG_DIR": {str(tmp_path)!r}, "PATH": "/usr/bin:/bin"}})
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], input=stdin, capture_output=True,
                          timeout=90, check=True)  # fmt: skip
    return float(done.stdout.decode().strip())


def test_a_frame_declaring_gigabytes_is_not_allocated(tmp_path):
    upscale = {"type": "upscale", "id": 1, "width": 8, "height": 8, "channels": 3,
               "dtype": "uint8", "options": {}}  # fmt: skip
    baseline = _peak_rss_mb(_frames(_frame(HELLO)), tmp_path)
    # 2 GiB declared for an 8x8 image, then the stream ends: refused before any payload.
    too_big = _peak_rss_mb(_frames(_frame(HELLO), _frame(upscale, declared=2 << 30)), tmp_path)
    # A header the job will reject, declaring 2 GiB: read in chunks until the stream ends.
    junk = dict(upscale, dtype="banana")
    chunked = _peak_rss_mb(_frames(_frame(HELLO), _frame(junk, b"x" * 100, 2 << 30)), tmp_path)
    # Measured before the fix: about 2.1 GB for both; after: within a few MB of the baseline.
    assert too_big < baseline + 64 and chunked < baseline + 64, (baseline, too_big, chunked)


def test_an_oversized_payload_is_named_in_the_error(tmp_path):
    upscale = {"type": "upscale", "id": 1, "width": 8, "height": 8, "channels": 3,
               "dtype": "uint8", "options": {}}  # fmt: skip
    _, frames = _run_worker(_frames(_frame(HELLO), _frame(upscale, declared=1 << 20)), tmp_path)
    errors = [f.header["message"] for f in frames if f.type == "error"]
    assert errors and "may carry 192 payload bytes" in errors[0]
