"""Property-based fuzzing of every reader: a damaged file is read or refused in a sentence.

Each case mutates a small valid file (byte flips, cuts, splices, length fields) and checks that
`read_image` either returns a well-formed image or raises one of the engine's own errors, and
that the file itself is never changed. Seeded and bounded to run in CI in well under a minute;
`POCKETSR_FUZZ_EXAMPLES` raises the count for a longer bench run.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from PIL import Image

from pocketsr.engine import protocol
from pocketsr.engine.errors import PocketSRError
from pocketsr.engine.imageio import read_image
from pocketsr.engine.pngcodec import encode

EXAMPLES = int(os.environ.get("POCKETSR_FUZZ_EXAMPLES", "40"))


def _pixels(channels: int, dtype: type) -> np.ndarray:
    rng = np.random.default_rng(7)
    top = np.iinfo(dtype).max
    return rng.integers(0, top, (12, 10, channels), dtype=dtype, endpoint=True)


def _png16() -> bytes:
    buf = io.BytesIO()
    encode(buf, _pixels(4, np.uint16), icc=b"x" * 10, exif=b"MM\0*")
    return buf.getvalue()


def _pillow(fmt: str, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_pixels(len(mode), np.uint8)[..., : len(mode)].squeeze(), mode).save(buf, fmt)
    return buf.getvalue()


def _tiff(dtype: type) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, _pixels(3, dtype), photometric="rgb")
    return buf.getvalue()


SEEDS = {
    "png16.png": _png16(),
    "png8.png": _pillow("PNG", "RGBA"),
    "photo.jpg": _pillow("JPEG", "RGB"),
    "photo.webp": _pillow("WEBP", "RGB"),
    "tiff16.tif": _tiff(np.uint16),
    "tiff8.tif": _tiff(np.uint8),
}


@st.composite
def mutations(draw: st.DrawFn, data: bytes) -> bytes:
    """A damaged copy: a few edits of the kinds real broken files show."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "splice", "length", "zero"]))
        at = draw(st.integers(0, max(0, len(out) - 1)))
        if kind == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del out[at:]
        elif kind == "splice":
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "length" and at + 4 <= len(out):
            out[at : at + 4] = struct.pack(">I", draw(st.sampled_from([0, 1, 2**31, 2**32 - 1])))
        elif kind == "zero":
            out[at : at + draw(st.integers(1, 64))] = b"\0" * min(64, len(out) - at)
        if not out:
            break
    return bytes(out)


def _check_read(path: Path, payload: bytes) -> None:
    path.write_bytes(payload)
    try:
        img = read_image(path)
    except PocketSRError as exc:
        assert str(exc).strip(), "an error without a sentence"
    else:
        assert img.pixels.ndim in (2, 3) and img.pixels.size > 0
        assert img.pixels.dtype in (np.uint8, np.uint16, np.float32)
    assert path.read_bytes() == payload  # the input is never touched


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_damaged_files_are_read_or_refused_in_a_sentence(tmp_path: Path, name: str) -> None:
    @seed(20261201)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(mutations(SEEDS[name]))
    def check(payload: bytes) -> None:
        _check_read(tmp_path / name, payload)

    check()


@seed(20261201)
@settings(max_examples=EXAMPLES * 3, deadline=None, database=None)
@given(st.binary(max_size=96))
def test_the_frame_reader_answers_any_bytes_with_a_frame_an_end_or_a_protocol_error(raw):
    stream = io.BytesIO(protocol.MAGIC + raw if raw[:1] == b"\0" else raw)
    try:
        while protocol.read_frame(stream, lambda header: 1 << 16) is not None:
            pass
    except protocol.ProtocolError:
        pass
