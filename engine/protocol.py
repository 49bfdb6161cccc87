"""The worker's frame format: length-prefixed frames of a JSON header plus an optional payload.

A frame on the pipe is::

    magic b"PSRF" | header length (u32, big-endian) | payload length (u64, big-endian)
    | header: UTF-8 JSON object with a "type" key | payload: raw bytes

plugin/bridge.py speaks the same format with the standard library only; keep the two in step
(tests/bridge/test_bridge_protocol.py checks the constants agree).

Messages (host -> worker): hello, info, upscale, cancel, shutdown.
Messages (worker -> host): hello, info, progress, result, error, bye.

Pixel payloads above a size threshold travel through a file named in the header
({"file": path}) that the host creates, so neither side holds a pipe copy of a big image.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

PROTOCOL_VERSION = 1
MAGIC = b"PSRF"
PREFIX = struct.Struct(">4sIQ")
MAX_HEADER_BYTES = 1 << 20
# Inline payloads are bounded so a corrupt length cannot make a reader allocate gigabytes.
MAX_INLINE_PAYLOAD = 1 << 31
DEFAULT_FILE_THRESHOLD = 4 << 20
# Payloads are read in chunks of this size: memory grows only with bytes that really arrive.
READ_CHUNK = 1 << 20

HELLO = "hello"
INFO = "info"
UPSCALE = "upscale"
CANCEL = "cancel"
SHUTDOWN = "shutdown"
PROGRESS = "progress"
RESULT = "result"
ERROR = "error"
BYE = "bye"

DTYPES = ("uint8", "uint16", "float16", "float32")

# Error codes the worker adds to those of engine.errors.
VERSION_MISMATCH = "version_mismatch"
PROTOCOL_ERROR = "protocol"
INTERNAL_ERROR = "internal"


class ProtocolError(Exception):
    """A frame was malformed, truncated or unexpected."""

    code = PROTOCOL_ERROR


@dataclass
class Frame:
    """One message: its JSON header and its raw payload (possibly empty)."""

    header: dict[str, Any]
    payload: bytes | memoryview = field(default=b"", repr=False)

    @property
    def type(self) -> str:
        """The message type, the header's "type" key."""
        return str(self.header.get("type", ""))


def encode_header(header: dict[str, Any], payload_len: int) -> bytes:
    """The prefix and JSON header of a frame whose payload has payload_len bytes."""
    if "type" not in header:
        raise ValueError("a frame header needs a 'type'")
    body = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    if len(body) > MAX_HEADER_BYTES:
        raise ValueError(f"frame header too large: {len(body)} bytes")
    return PREFIX.pack(MAGIC, len(body), payload_len) + body


def write_frame(stream: IO[bytes], header: dict[str, Any], payload: Any = b"") -> None:
    """Write one frame (payload: any bytes-like object) and flush."""
    view = memoryview(payload).cast("B") if payload is not None else memoryview(b"")
    stream.write(encode_header(header, view.nbytes))
    if view.nbytes:
        stream.write(view)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int, what: str) -> bytearray:
    """Read exactly n bytes, in chunks, or raise ProtocolError naming what was cut short.

    Chunked, so a frame that declares a huge length and then stops costs only what arrived.
    """
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(min(READ_CHUNK, n - len(buf)))
        if not chunk:
            raise ProtocolError(
                f"the stream ended inside a frame's {what} ({len(buf)} of {n} bytes)"
            )
        buf += chunk
    return buf


def read_frame(
    stream: IO[bytes], payload_limit: Callable[[dict[str, Any]], int] | None = None
) -> Frame | None:
    """Read one frame; None at a clean end of stream (before any byte of a frame).

    `payload_limit(header)` gives the most payload bytes that header can need; a frame that
    declares more is refused before any of its payload is read.
    """
    first = stream.read(1)
    if not first:
        return None
    prefix = bytes(first) + bytes(_read_exact(stream, PREFIX.size - 1, "prefix"))
    magic, header_len, payload_len = PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise ProtocolError(f"not a PocketSR frame (starts with {prefix[:8]!r})")
    if header_len > MAX_HEADER_BYTES or payload_len > MAX_INLINE_PAYLOAD:
        raise ProtocolError(f"frame sizes out of range: header {header_len}, payload {payload_len}")
    raw = _read_exact(stream, header_len, "header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"frame header is not JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError("frame header is nested too deeply") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("frame header is not an object with a 'type'")
    if payload_limit is not None and payload_len > (limit := payload_limit(header)):
        raise ProtocolError(
            f"a '{header['type']}' frame may carry {limit} payload bytes, "
            f"this one declares {payload_len}"
        )
    payload = _read_exact(stream, payload_len, "payload") if payload_len else b""
    return Frame(header, payload)


def error_header(code: str, message: str, job_id: Any = None, **extra: Any) -> dict[str, Any]:
    """The header of an error message: a stable code and a sentence for the user."""
    header: dict[str, Any] = {"type": ERROR, "code": code, "message": message}
    if job_id is not None:
        header["id"] = job_id
    header.update(extra)
    return header
