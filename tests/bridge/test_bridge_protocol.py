"""The frame format: engine side and bridge side agree, and bad bytes are refused."""

from __future__ import annotations

import io
import os
import threading

import pytest

from pocketsr.engine import protocol
from pocketsr.plugin import bridge
from pocketsr.plugin.pocketsr_link import frames, wire
from pocketsr.plugin.pocketsr_link.reader import FrameReader


def test_bridge_and_engine_use_the_one_wire_module():
    # One copy: the engine's names are the wire module's objects, not equal copies.
    assert bridge.PROTOCOL_VERSION is protocol.PROTOCOL_VERSION is wire.PROTOCOL_VERSION
    assert protocol.MAGIC is wire.MAGIC and protocol.PREFIX is wire.PREFIX
    assert protocol.encode_header is frames.encode_header
    assert set(wire.ITEMSIZE) == set(protocol.DTYPES)


def test_frame_round_trip_with_payload():
    buf = io.BytesIO()
    protocol.write_frame(buf, {"type": "progress", "done": 1, "rect": [0, 0, 2, 2]}, b"\x00\x01")
    protocol.write_frame(buf, {"type": "bye"})
    buf.seek(0)
    first = protocol.read_frame(buf)
    assert first is not None
    assert first.type == "progress" and first.header["rect"] == [0, 0, 2, 2]
    assert bytes(first.payload) == b"\x00\x01"
    second = protocol.read_frame(buf)
    assert second is not None and second.type == "bye" and second.payload == b""
    assert protocol.read_frame(buf) is None


@pytest.mark.parametrize(
    "data",
    [
        b"hello world\n" * 4,
        protocol.PREFIX.pack(protocol.MAGIC, 1 << 30, 0),
        protocol.PREFIX.pack(protocol.MAGIC, 3, 0) + b"[1]",
        protocol.PREFIX.pack(protocol.MAGIC, 4, 0) + b"\xff\xfe{}",
    ],
    ids=["garbage", "huge-header", "not-an-object", "not-utf8"],
)
def test_bad_frames_are_protocol_errors(data):
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(io.BytesIO(data))


def test_truncated_frame_is_a_protocol_error():
    buf = io.BytesIO()
    protocol.write_frame(buf, {"type": "result"}, b"x" * 100)
    with pytest.raises(protocol.ProtocolError, match="ended inside"):
        protocol.read_frame(io.BytesIO(buf.getvalue()[:-10]))


def test_bridge_reader_parses_engine_frames_and_flags_garbage():
    r, w = os.pipe()
    with os.fdopen(w, "wb") as out:
        protocol.write_frame(out, {"type": "hello", "protocol": 1}, b"abc")
        out.write(b"junk that is not a frame")
    reader = FrameReader(os.fdopen(r, "rb", buffering=0))
    reader.start()
    kind, header, payload = reader.frames.get(timeout=5)
    assert (kind, header["type"], bytes(payload)) == ("frame", "hello", b"abc")
    kind, error, _ = reader.frames.get(timeout=5)
    assert kind == "error" and isinstance(error, bridge.ProtocolError)
    reader.join(5)
    reader.stream.close()


def test_bridge_frames_are_readable_by_the_engine():
    r, w = os.pipe()
    raw = os.fdopen(w, "wb", buffering=0)
    writer = threading.Thread(
        target=lambda: (
            raw.write(frames.encode_header({"type": "cancel", "id": 7}, 0)),
            raw.close(),
        )
    )
    writer.start()
    with os.fdopen(r, "rb") as inp:
        frame = protocol.read_frame(inp)
    writer.join()
    assert frame is not None and frame.header == {"type": "cancel", "id": 7}
