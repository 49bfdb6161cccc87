"""The PNG codec: 16-bit colour both ways, every filter type, Adam7, tRNS keys, bad bytes."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from pocketsr.engine import pngcodec


def _encode(pixels: np.ndarray, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    pngcodec.encode(buf, pixels, **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _noisy(shape: tuple[int, ...], dtype: type, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 0.7, shape[1])[None, :]
    base = ramp if len(shape) == 2 else ramp[..., None]
    unit = np.clip(base + rng.normal(0, 0.1, shape), 0, 1)
    return (unit * np.iinfo(dtype).max).astype(dtype)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("fast", [False, True])
def test_round_trip_is_exact(channels: int, dtype: type, fast: bool) -> None:
    shape = (23, 41) if channels == 1 else (23, 41, channels)
    pixels = _noisy(shape, dtype)
    back = pngcodec.decode(_encode(pixels, fast=fast, rows_per_block=5))
    assert back.pixels.dtype == dtype
    np.testing.assert_array_equal(back.pixels, pixels)


def _reference_filter(rows: np.ndarray, bpp: int) -> bytes:
    """Filter row r with type r % 5, one byte at a time, straight from the PNG spec."""
    out = b""
    prev = [0] * rows.shape[1]
    for r, row in enumerate(rows.tolist()):
        kind = r % 5
        line = []
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            paeth = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            pred = (0, a, b, (a + b) // 2, paeth)[kind]
            line.append((x - pred) % 256)
        out += bytes([kind, *line])
        prev = row
    return out


@pytest.mark.parametrize(("depth", "ctype", "channels"), [(8, 2, 3), (16, 2, 3), (16, 6, 4)])
def test_every_filter_type_decodes(depth: int, ctype: int, channels: int) -> None:
    dtype = np.uint8 if depth == 8 else np.uint16
    pixels = _noisy((15, 9, channels), dtype, seed=3)
    rows = pixels.astype(dtype(0).dtype.newbyteorder(">")).view(np.uint8).reshape(15, -1)
    data = _png(9, 15, depth, ctype, _reference_filter(rows, channels * depth // 8))
    np.testing.assert_array_equal(pngcodec.decode(data).pixels, pixels)
    if depth == 8:
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)


def test_sixteen_bit_colour_is_read_by_pillow_as_its_high_byte() -> None:
    pixels = _noisy((17, 19, 4), np.uint16)
    seen = np.asarray(Image.open(io.BytesIO(_encode(pixels))))
    np.testing.assert_array_equal(seen, pixels >> 8)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(width: int, height: int, depth: int, ctype: int, raw: bytes, interlace: int = 0) -> bytes:
    head = struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, interlace)
    return (
        pngcodec.SIGNATURE
        + _chunk(b"IHDR", head)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def test_adam7_interlaced_sixteen_bit() -> None:
    pixels = _noisy((13, 11, 3), np.uint16)
    big = pixels.astype(">u2")
    raw = b""
    for xs, ys, dx, dy in pngcodec._ADAM7:
        sub = big[ys::dy, xs::dx]
        for row in sub:
            raw += b"\0" + row.tobytes()
    data = _png(11, 13, 16, 2, raw, interlace=1)
    np.testing.assert_array_equal(pngcodec.decode(data).pixels, pixels)


def test_trns_key_colour_becomes_alpha() -> None:
    pixels = np.full((2, 3, 3), 1000, np.uint16)
    pixels[0, 0] = (7, 8, 9)
    raw = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)
    head = struct.pack(">IIBBBBB", 3, 2, 16, 2, 0, 0, 0)
    data = (
        pngcodec.SIGNATURE
        + _chunk(b"IHDR", head)
        + _chunk(b"tRNS", struct.pack(">HHH", 7, 8, 9))
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )
    out = pngcodec.decode(data).pixels
    assert out.shape == (2, 3, 4)
    assert out[0, 0, 3] == 0 and (out[..., 3].ravel()[1:] == 65535).all()


def test_icc_and_exif_chunks_round_trip() -> None:
    back = pngcodec.decode(_encode(_noisy((4, 4, 3), np.uint16), icc=b"profile", exif=b"MM\0*x"))
    assert back.icc == b"profile" and back.exif == b"MM\0*x"


@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (lambda d: d[: len(d) // 2], "truncated"),
        (lambda d: d[:40] + bytes([d[40] ^ 0xFF]) + d[41:], "checksum"),
        (lambda d: b"GIF89a" + d[6:], "signature"),
    ],
)
def test_bad_bytes_say_why(mangle: object, words: str) -> None:
    data = _encode(_noisy((30, 30, 3), np.uint16))
    with pytest.raises(pngcodec.PngError, match=words):
        pngcodec.decode(mangle(data))  # type: ignore[operator]


def test_unknown_filter_type_is_an_error() -> None:
    data = _png(2, 1, 16, 0, b"\x09" + b"\0" * 4)
    with pytest.raises(pngcodec.PngError, match="filter"):
        pngcodec.decode(data)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 9),
    st.integers(1, 9),
    st.sampled_from([1, 2, 3, 4]),
    st.sampled_from([np.uint8, np.uint16]),
    st.integers(0, 2**31),
)
def test_round_trip_property(w: int, h: int, c: int, dtype: type, seed: int) -> None:
    shape = (h, w) if c == 1 else (h, w, c)
    info = np.iinfo(dtype)
    pixels = np.random.default_rng(seed).integers(0, info.max, shape, endpoint=True, dtype=dtype)
    np.testing.assert_array_equal(pngcodec.decode(_encode(pixels)).pixels, pixels)
