"""Drives plugin/bridge.py from another interpreter (a real Python 2.7) for the bridge tests.

Usage: python2.7 py27_driver.py SPEC.json -- SPEC names the bridge folder, the engine's Python,
the log folder, a mode and its jobs; one JSON line with what happened goes to stdout.
Written to run unchanged on Python 2.7 and 3.
"""

import json
import os
import signal
import sys
import time


def _bridge(spec, **kwargs):
    return bridge.Bridge(python=spec["python"], config={}, log_dir=spec["log_dir"], **kwargs)


def _run_job(b, job, **callbacks):
    with open(job["in"], "rb") as f:
        pixels = f.read()
    args = [pixels, job["width"], job["height"], job["channels"], job["dtype"]]
    callbacks.update(roi=job.get("roi"), options=job.get("options"))
    # (one line on purpose: a formatter's trailing comma after **kwargs is a Py2 syntax error)
    return b.upscale(*args, **callbacks)


def mode_handshake(spec):
    b = _bridge(spec)
    info = b.info()
    b.close()
    return {"info": info, "python": sys.version.split()[0]}


def mode_roundtrip(spec):
    b = _bridge(spec, file_threshold=spec.get("file_threshold", 4 << 20))
    reports = []
    for job in spec["jobs"]:
        events = []
        tiles = []
        result = _run_job(
            b,
            job,
            on_progress=lambda p, events=events: events.append(p.done),
            on_tile=lambda x, y, w, h, data, tiles=tiles: tiles.append(len(data)),
        )
        with open(job["out"], "wb") as f:
            f.write(result.data)
        reports.append(
            {
                "width": result.width,
                "height": result.height,
                "channels": result.channels,
                "dtype": result.dtype,
                "type": type(result.data).__name__,
                "progress": events,
                "tile_bytes": sum(tiles),
            }
        )
    b.close()
    return {"jobs": reports}


def mode_cancel(spec):
    b = _bridge(spec)
    events = []
    asked = []

    def is_cancelled():
        if events and not asked:
            asked.append((time.time(), len(events)))
        return bool(asked)

    outcome = "finished"
    try:
        _run_job(b, spec["jobs"][0], on_progress=events.append, is_cancelled=is_cancelled)
    except bridge.CancelledError as exc:
        outcome = "cancelled: " + str(exc)
    latency = time.time() - asked[0][0] if asked else None
    pid = b.worker_pid
    after = _run_job(b, spec["jobs"][1])
    same = b.worker_pid == pid
    b.close()
    return {
        "outcome": outcome,
        "latency": latency,
        "after_cancel": len(events) - asked[0][1] if asked else None,
        "total": events[0].total if events else None,
        "next_width": after.width,
        "same_worker": same,
    }


def mode_crash(spec):
    b = _bridge(spec)
    b.info()
    first = b.worker_pid

    def kill_on_first(p):
        if p.done == 1:
            os.kill(first, signal.SIGKILL)

    outcome = "finished"
    try:
        _run_job(b, spec["jobs"][0], on_progress=kill_on_first)
    except bridge.WorkerCrashedError as exc:
        outcome = "crashed: " + str(exc)
    after = _run_job(b, spec["jobs"][1])
    second = b.worker_pid
    lines = b.last_log_lines(5)
    b.close()
    return {
        "outcome": outcome,
        "next_width": after.width,
        "pids": [first, second],
        "log_lines": len(lines),
    }


def mode_mismatch(spec):
    b = _bridge(spec)
    b.protocol_version = 99
    try:
        b.info()
    except bridge.VersionMismatchError as exc:
        return {"outcome": "mismatch: " + str(exc)}
    return {"outcome": "accepted"}


def mode_garbage(spec):
    b = _bridge(spec, frame_timeout=1.0)
    start = time.time()
    try:
        b.info()
    except bridge.ProtocolError as exc:
        return {"outcome": "protocol: " + str(exc), "seconds": time.time() - start}
    return {"outcome": "accepted"}


if __name__ == "__main__":
    with open(sys.argv[1]) as spec_file:
        SPEC = json.load(spec_file)
    sys.path.insert(0, SPEC["bridge_dir"])
    import bridge

    report = globals()["mode_" + SPEC["mode"]](SPEC)
    sys.stdout.write(json.dumps(report) + "\n")
