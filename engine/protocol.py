"""The worker's side of the frame protocol: blocking reads and writes on its pipes.

The frame format, the message types, the error codes and the values in the headers live in
plugin/pocketsr_link/wire.py and frames.py, shared with the bridge (one copy; see there).
Pixel payloads above a size threshold travel through a file named in the header
({"file": path}) that the host creates, so neither side holds a pipe copy of a big image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from pocketsr.plugin.pocketsr_link import frames
from pocketsr.plugin.pocketsr_link.frames import FrameError, encode_header, error_header
from pocketsr.plugin.pocketsr_link.wire import (  # noqa: F401 - the worker's vocabulary
    BYE,
    CANCEL,
    DEFAULT_FILE_THRESHOLD,
    DTYPES,
    ERROR,
    HELLO,
    INFO,
    INTERNAL_ERROR,
    MAGIC,
    MAX_HEADER_BYTES,
    MAX_INLINE_PAYLOAD,
    PLAN,
    PREFIX,
    PROGRESS,
    PROTOCOL_ERROR,
    PROTOCOL_VERSION,
    READ_CHUNK,
    RESULT,
    SHUTDOWN,
    UPSCALE,
    VERSION_MISMATCH,
)

__all__ = ["Frame", "ProtocolError", "encode_header", "error_header", "read_frame", "write_frame"]


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
    try:
        header_len, payload_len = frames.parse_prefix(prefix)
        header = frames.parse_header(_read_exact(stream, header_len, "header"))
    except FrameError as exc:
        raise ProtocolError(str(exc)) from None
    if payload_limit is not None and payload_len > (limit := payload_limit(header)):
        raise ProtocolError(
            f"a '{header['type']}' frame may carry {limit} payload bytes, "
            f"this one declares {payload_len}"
        )
    payload = _read_exact(stream, payload_len, "payload") if payload_len else b""
    return Frame(header, payload)
