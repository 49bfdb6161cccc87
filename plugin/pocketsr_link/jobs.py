# -*- coding: utf-8 -*-
"""One upscale job over a running bridge: transfer files, progress, cancel, the result."""

from __future__ import absolute_import

import collections
import io
import os
import time

from . import wire
from .errors import CancelledError, EngineError, ProtocolError, from_error_frame
from .frames import bytes_view, nbytes, read_rect, write_all


class UpscaleResult(collections.namedtuple(
        "UpscaleResult", "data width height channels dtype elapsed")):
    """The upscaled pixels (bytes, packed rows) and their layout."""

    __slots__ = ()


def check_pixels(pixels, width, height, channels, dtype):
    """A byte view of the caller's pixels, checked against their declared layout."""
    if dtype not in wire.ITEMSIZE:
        raise EngineError("Unsupported pixel type %r (use %s)." % (dtype, ", ".join(
            sorted(wire.ITEMSIZE))), code=wire.INVALID_IMAGE)
    view = bytes_view(pixels)
    expected = int(width) * int(height) * int(channels) * wire.ITEMSIZE[dtype]
    if nbytes(view) != expected:
        raise EngineError("%dx%d with %d %s channels needs %d bytes, got %d." % (
            width, height, channels, dtype, expected, nbytes(view)), code=wire.INVALID_IMAGE)
    return view


def run_upscale(bridge, view, width, height, channels, dtype, roi, options, on_progress,
                is_cancelled, on_tile):
    """Send the job, pump progress/tiles, poll cancel, return the UpscaleResult."""
    pixel_bytes = channels * wire.ITEMSIZE[dtype]
    job_id = bridge._next_id
    header = {
        "type": wire.UPSCALE, "width": width, "height": height, "channels": channels,
        "dtype": dtype, "roi": None if not roi else [int(v) for v in roi],
        "options": options.to_wire(), "tiles": on_tile is not None,
    }
    in_path = out_path = None
    payload = view
    if nbytes(view) > bridge.file_threshold:
        in_path = bridge._transfer_path(job_id, "in")
        with io.open(in_path, "wb", buffering=0) as f:
            write_all(f, view)
        header["input"] = {"file": in_path}
        payload = None
    # The engine knows the result's size: it writes a result above the threshold to this file
    # (and says so in its reply), a smaller one inline.
    out_path = bridge._transfer_path(job_id, "out")
    header["output"] = {"file": out_path, "above": bridge.file_threshold}
    try:
        bridge._send_request(header, payload)
        return _pump(bridge, job_id, on_progress, is_cancelled, on_tile, pixel_bytes)
    finally:
        for path in (in_path, out_path):
            if path and os.path.exists(path):
                try:
                    os.remove(path)
                except OSError:
                    pass


def _pump(bridge, job_id, on_progress, is_cancelled, on_tile, pixel_bytes):
    """Handle frames for a running job until its result or error."""
    cancel_sent_at = None
    while True:
        if cancel_sent_at is None and is_cancelled is not None and is_cancelled():
            cancel_sent_at = time.time()
            bridge._write_frame({"type": wire.CANCEL, "id": job_id})
        deadline = None if cancel_sent_at is None else cancel_sent_at + bridge.cancel_grace
        got = bridge._next_frame(deadline)
        if got is None:
            raise bridge._abandon(CancelledError(
                "Cancelled; the engine did not stop within %.0f s, so it was stopped."
                % bridge.cancel_grace, log_path=bridge.log_path))
        if got == "idle":
            continue
        header, payload = got
        if header.get("id") != job_id:
            continue
        kind = header["type"]
        if kind == wire.PROGRESS:
            _deliver_progress(header, payload, on_progress, on_tile, pixel_bytes)
        elif kind == wire.RESULT:
            return _result(bridge, header, payload)
        elif kind == wire.ERROR:
            raise from_error_frame(header, bridge.log_path)


def _deliver_progress(header, payload, on_progress, on_tile, pixel_bytes):
    """Call the host's callbacks for one progress frame."""
    progress = wire.Progress.from_wire(header)
    rect = progress.rect
    if on_tile is not None and rect is not None:
        shared = header.get("in_output")
        if shared:
            data = read_rect(shared["file"], rect, shared["width"], pixel_bytes)
        else:
            data = bytes(payload)
        if data:
            on_tile(rect.x, rect.y, rect.width, rect.height, data)
    if on_progress is not None:
        on_progress(progress)


def _result(bridge, header, payload):
    """The UpscaleResult of a result frame (reading the output file if there is one)."""
    output = header.get("output") or {}
    if output.get("file"):
        with open(output["file"], "rb") as f:
            data = f.read()
    else:
        data = bytes(payload)
    expected = header["width"] * header["height"] * header["channels"] * wire.ITEMSIZE.get(
        header["dtype"], 0)
    if len(data) != expected:
        raise ProtocolError("The engine's result has %d bytes where %d were expected."
                            % (len(data), expected), log_path=bridge.log_path)
    return UpscaleResult(data, header["width"], header["height"], header["channels"],
                         header["dtype"], header.get("elapsed"))
