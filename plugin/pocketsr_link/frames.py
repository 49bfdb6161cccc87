# -*- coding: utf-8 -*-
"""The frame codec both sides use: length-prefixed frames of a JSON header and a payload.

A frame on the pipe is::

    magic b"PSRF" | header length (u32, big-endian) | payload length (u64, big-endian)
    | header: UTF-8 JSON object with a "type" key | payload: raw bytes

The engine's worker (engine/protocol.py) and the bridge (bridge.py) read their streams in
their own way (a blocking reader, a thread with time-outs) but encode and check frames here.
Standard library only; Python 2.7 and 3.
"""

from __future__ import absolute_import

import io
import json
import sys

from .wire import ERROR, MAGIC, MAX_HEADER_BYTES, MAX_INLINE_PAYLOAD, PREFIX

_PY2 = sys.version_info[0] == 2
# Python 2 has no RecursionError: a too-deep JSON document raises RuntimeError there.
_TOO_DEEP = RuntimeError if _PY2 else RecursionError  # noqa: F821


class FrameError(ValueError):
    """A frame is malformed; `kind` says how ("magic", "sizes", "json", "type", "too_big")."""

    def __init__(self, kind, message):
        ValueError.__init__(self, message)
        self.kind = kind


def encode_header(header, payload_len):
    """The prefix and JSON header bytes of a frame whose payload has payload_len bytes."""
    if "type" not in header:
        raise FrameError("type", "a frame header needs a 'type'")
    body = json.dumps(header, separators=(",", ":"), allow_nan=False)
    if not isinstance(body, bytes):
        body = body.encode("utf-8")
    if len(body) > MAX_HEADER_BYTES:
        raise FrameError("too_big", "frame header too large: %d bytes" % len(body))
    return PREFIX.pack(MAGIC, len(body), payload_len) + body


def parse_prefix(prefix):
    """(header length, payload length) of a frame's prefix bytes, else FrameError."""
    magic, header_len, payload_len = PREFIX.unpack(bytes(prefix))
    if magic != MAGIC:
        raise FrameError("magic", "not a PocketSR frame (starts with %r)" % bytes(prefix)[:8])
    if header_len > MAX_HEADER_BYTES or payload_len > MAX_INLINE_PAYLOAD:
        raise FrameError("sizes", "frame sizes out of range: header %d, payload %d"
                         % (header_len, payload_len))
    return header_len, payload_len


def parse_header(raw):
    """A frame's header object from its bytes: a JSON object with a string "type"."""
    try:
        header = json.loads(bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError("json", "frame header is not JSON: %s" % exc)
    except _TOO_DEEP:
        raise FrameError("json", "frame header is nested too deeply")
    if not isinstance(header, dict) or not isinstance(header.get("type"), (str, type(u""))):
        raise FrameError("type", "frame header is not an object with a 'type'")
    return header


def error_header(code, message, job_id=None, **extra):
    """The header of an error message: a stable code and a sentence for the user."""
    header = {"type": ERROR, "code": code, "message": message}
    if job_id is not None:
        header["id"] = job_id
    header.update(extra)
    return header


def bytes_view(data):
    """A flat byte view of any buffer (bytes, bytearray, memoryview, array)."""
    try:
        view = memoryview(data)
    except TypeError:  # Python 2 buffer/array objects only speak the old buffer protocol
        view = memoryview(bytes(data))
    if not _PY2 and (view.format != "B" or view.ndim != 1):
        view = view.cast("B")
    return view


def nbytes(view):
    """Byte length of a memoryview on both Pythons (2.7's has no .nbytes)."""
    if hasattr(view, "nbytes"):
        return view.nbytes
    count = view.itemsize
    for dim in view.shape or ():
        count *= dim
    return count


def write_all(raw, data):
    """Write every byte of data to an unbuffered raw file (which may write partially)."""
    view = bytes_view(data)
    total = nbytes(view)
    done = 0
    while done < total:
        n = raw.write(view[done:done + (1 << 24)])
        done += n or 0


def read_rect(path, rect, image_width, pixel_bytes):
    """The packed pixels of rect from a raw row-major image file of image_width pixels."""
    x, y, w, h = rect
    row_bytes = w * pixel_bytes
    stride = image_width * pixel_bytes
    data = bytearray(row_bytes * h)
    with io.open(path, "rb", buffering=0) as f:
        for row in range(h):
            f.seek((y + row) * stride + x * pixel_bytes)
            chunk = f.read(row_bytes)
            data[row * row_bytes:(row + 1) * row_bytes] = chunk
    return bytes(data)
