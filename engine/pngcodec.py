"""A small PNG codec for what Pillow gets wrong: 16-bit colour in and out, and streamed writing."""

from __future__ import annotations

import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Colour type -> samples per pixel (palette excluded: Pillow reads those).
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}
# Adam7 passes: (x start, y start, x step, y step).
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
_ADAM7 += ((0, 1, 1, 2),)


class PngError(ValueError):
    """The bytes are not a PNG this codec can read; str() says why."""


@dataclass(frozen=True)
class PngHeader:
    """The IHDR fields of a PNG."""

    width: int
    height: int
    bit_depth: int
    colour_type: int
    interlaced: bool


@dataclass(frozen=True)
class PngImage:
    """Decoded pixels (H×W or H×W×C, uint8/uint16) with the ICC profile and raw EXIF bytes."""

    pixels: np.ndarray
    icc: bytes | None
    exif: bytes | None


def read_header(data: bytes) -> PngHeader:
    """Parse the signature and IHDR only: cheap, no pixel is decoded."""
    if data[:8] != SIGNATURE:
        raise PngError("it does not start with the PNG signature")
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise PngError("the PNG header is missing or truncated")
    width, height, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    if width == 0 or height == 0:
        raise PngError(f"the PNG header gives an empty size {width}x{height}")
    return PngHeader(width, height, depth, ctype, interlace == 1)


def _chunks(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    pos = 8
    while True:
        if pos + 8 > len(data):
            raise PngError("the file is truncated (it ends before the IEND chunk)")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        ctype = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise PngError(f"the file is truncated (inside a {ctype.decode('latin-1')} chunk)")
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(ctype + body) != crc:
            raise PngError(f"the {ctype.decode('latin-1')} chunk is corrupt (bad checksum)")
        yield ctype, body
        if ctype == b"IEND":
            return
        pos = end


# Decompressed ancillary data (colour profile, EXIF) is capped: a few hundred kilobytes of
# deflate can claim gigabytes. Real ICC profiles and EXIF blocks are far smaller.
MAX_ANCILLARY_BYTES = 8 << 20


def _inflate_capped(data: bytes, cap: int, what: str) -> bytes | None:
    """Inflate at most `cap` bytes; a bigger or broken stream is dropped with a warning."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error:
        warnings.warn(f"the PNG's {what} chunk is corrupt; it was dropped.", stacklevel=3)
        return None
    if len(out) > cap or inflater.unconsumed_tail:
        warnings.warn(
            f"the PNG's {what} chunk inflates to more than {cap >> 20} MB; it was dropped.",
            stacklevel=3,
        )
        return None
    return out


def without_chunks(data: bytes, kinds: tuple[bytes, ...]) -> bytes:
    """The same PNG without the chunks of the given types (checksums verified on the way)."""
    out = [data[:8]]
    for ctype, body in _chunks(data):
        if ctype not in kinds:
            out.append(_chunk(ctype, body))
    return b"".join(out)


def decode(data: bytes) -> PngImage:
    """Decode a 16-bit (or 8-bit, non-palette) PNG into a numpy array, keeping every bit."""
    head = read_header(data)
    if head.colour_type not in _CHANNELS or head.bit_depth not in (8, 16):
        raise PngError(f"colour type {head.colour_type} at {head.bit_depth} bits is not handled")
    idat: list[bytes] = []
    icc = exif = trns = None
    for ctype, body in _chunks(data):
        if ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"iCCP":
            name_end = body.find(b"\0")
            icc = _inflate_capped(body[name_end + 2 :], MAX_ANCILLARY_BYTES, "iCCP")
        elif ctype == b"eXIf":
            exif = body if len(body) <= MAX_ANCILLARY_BYTES else None
        elif ctype == b"tRNS":
            trns = body
    channels = _CHANNELS[head.colour_type]
    bpp = channels * head.bit_depth // 8
    expected = _raw_size(head, bpp)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected)
    except zlib.error as exc:
        raise PngError(f"the compressed pixel data is corrupt ({exc})") from None
    if len(raw) < expected:
        raise PngError("the pixel data is truncated")
    dtype = np.dtype(">u2") if head.bit_depth == 16 else np.dtype(np.uint8)
    if head.interlaced:
        planes = np.zeros((head.height, head.width * bpp), np.uint8)
        pos = 0
        for xs, ys, dx, dy in _ADAM7:
            w, h = -(-(head.width - xs) // dx), -(-(head.height - ys) // dy)
            if w <= 0 or h <= 0:
                continue
            n = h * (w * bpp + 1)
            sub = unfilter(raw[pos : pos + n], w, h, bpp).reshape(h, w, bpp)
            planes.reshape(head.height, head.width, bpp)[ys::dy, xs::dx] = sub
            pos += n
    else:
        planes = unfilter(raw, head.width, head.height, bpp)
    pixels = (
        planes.view(dtype)
        .reshape(head.height, head.width, channels)
        .astype(dtype.newbyteorder("="))
    )
    if trns is not None and head.colour_type in (0, 2):
        key = np.frombuffer(trns, dtype=">u2")[:channels].astype(pixels.dtype)
        opaque = np.iinfo(pixels.dtype).max
        alpha = np.where((pixels == key).all(axis=2), 0, opaque).astype(pixels.dtype)
        pixels = np.concatenate([pixels, alpha[..., None]], axis=2)
    if pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    return PngImage(np.ascontiguousarray(pixels), icc, exif)


def _raw_size(head: PngHeader, bpp: int) -> int:
    if not head.interlaced:
        return head.height * (head.width * bpp + 1)
    total = 0
    for xs, ys, dx, dy in _ADAM7:
        w, h = -(-(head.width - xs) // dx), -(-(head.height - ys) // dy)
        if w > 0 and h > 0:
            total += h * (w * bpp + 1)
    return total


def unfilter(raw: bytes, width: int, height: int, bpp: int) -> np.ndarray:
    """Undo PNG row filters: returns H × (W·bpp) bytes."""
    stride = width * bpp
    rows = np.frombuffer(raw, np.uint8, count=height * (stride + 1)).reshape(height, stride + 1)
    kinds = rows[:, 0]
    if kinds.size and kinds.max() > 4:
        raise PngError(f"a row uses an unknown filter type {int(kinds.max())}")
    data = rows[:, 1:].reshape(height, width, bpp)
    if not np.isin(kinds, (3, 4)).any():
        return _unfilter_rows(data, kinds).reshape(height, stride)
    return _unfilter_wavefront(data, kinds).reshape(height, stride)


def _unfilter_rows(data: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    # None, Sub and Up only: each row is one vector operation (Sub is a running sum mod 256).
    out = np.empty_like(data)
    prev = np.zeros_like(data[0])
    for r, kind in enumerate(kinds):
        if kind == 0:
            out[r] = data[r]
        elif kind == 1:
            out[r] = np.cumsum(data[r], axis=0, dtype=np.uint8)
        else:
            out[r] = data[r] + prev
        prev = out[r]
    return out


def _unfilter_wavefront(data: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    # Average and Paeth need the finished left neighbour, so a row cannot be one vector op;
    # pixel (r, x) only needs (r, x-1), (r-1, x) and (r-1, x-1), so every anti-diagonal
    # r + x = t can be done at once: H + W vector steps instead of H·W scalar ones.
    height, width, bpp = data.shape
    pad = np.zeros((height + 1, width + 1, bpp), np.int16)
    kind_of = kinds.astype(np.int16)
    for t in range(height + width - 1):
        r = np.arange(max(0, t - width + 1), min(height - 1, t) + 1)
        x = t - r
        a = pad[r + 1, x]
        b = pad[r, x + 1]
        c = pad[r, x]
        k = kind_of[r][:, None]
        p = a + b - c
        pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
        paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
        pred = np.select([k == 1, k == 2, k == 3, k == 4], [a, b, (a + b) >> 1, paeth], 0)
        pad[r + 1, x + 1] = (data[r, x] + pred) & 0xFF
    return pad[1:, 1:].astype(np.uint8)


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


_COST = np.minimum(np.arange(256), 256 - np.arange(256)).astype(np.uint8)


def _filter_block(block: np.ndarray, above: np.ndarray, bpp: int, *, fast: bool) -> np.ndarray:
    """Filter rows (n × stride bytes); per row, the filter with the least |signed| byte sum.

    fast=True uses Up everywhere: a quarter of the work, for streamed giant images.
    """
    up = np.concatenate([above[None], block[:-1]], axis=0)
    if fast:
        kinds = np.full((block.shape[0], 1), 2, np.uint8)
        return np.concatenate([kinds, block - up], axis=1)
    left = np.zeros_like(block)
    left[:, bpp:] = block[:, :-bpp]
    upleft = np.zeros_like(block)
    upleft[:, bpp:] = up[:, :-bpp]
    a, b, c = left.astype(np.int16), up.astype(np.int16), upleft.astype(np.int16)
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
    average = (left & up) + ((left ^ up) >> 1)
    cands = np.stack([block, block - left, block - up, block - average, block - paeth])
    cost = _COST[cands].sum(axis=2, dtype=np.uint32)
    best = cost.argmin(axis=0)
    rows = cands[best, np.arange(block.shape[0])]
    return np.concatenate([best.astype(np.uint8)[:, None], rows], axis=1)


def encode(
    fh: BinaryIO,
    pixels: np.ndarray,
    *,
    icc: bytes | None = None,
    exif: bytes | None = None,
    level: int = 6,
    rows_per_block: int | None = None,
    fast: bool = False,
    after_block: Callable[[int], None] | None = None,
) -> None:
    """Write a PNG (8 or 16 bits; grey, grey+alpha, RGB or RGBA) streaming rows from `pixels`.

    fast=True trades some compression for speed (Up filter only). `pixels` may be a memmap:
    it is read a block of rows at a time, and `after_block(rows_done)` is called after each
    block (to report progress, cancel, or release the mapping's pages).
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        raise PngError(f"PNG holds 8- or 16-bit integers, not {pixels.dtype}")
    height, width = pixels.shape[:2]
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels not in _COLOUR_TYPE:
        raise PngError(f"PNG cannot hold {channels} channels")
    depth = 8 * pixels.dtype.itemsize
    bpp = channels * pixels.dtype.itemsize
    stride = width * bpp
    fh.write(SIGNATURE)
    head = struct.pack(">IIBBBBB", width, height, depth, _COLOUR_TYPE[channels], 0, 0, 0)
    fh.write(_chunk(b"IHDR", head))
    if icc:
        fh.write(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc)))
    if exif:
        fh.write(_chunk(b"eXIf", exif))
    if rows_per_block is None:
        rows_per_block = max(1, (8 << 20) // max(1, stride))
    big_endian = pixels.dtype.newbyteorder(">")
    packer = zlib.compressobj(level)
    pending: list[bytes] = []
    pending_size = 0
    above = np.zeros(stride, np.uint8)
    for start in range(0, height, rows_per_block):
        block = np.ascontiguousarray(pixels[start : start + rows_per_block], dtype=big_endian)
        raw = block.view(np.uint8).reshape(-1, stride)
        filtered = _filter_block(raw, above, bpp, fast=fast)
        above = raw[-1].copy()
        out = packer.compress(filtered.tobytes())
        if out:
            pending.append(out)
            pending_size += len(out)
        if pending_size >= 1 << 20:
            fh.write(_chunk(b"IDAT", b"".join(pending)))
            pending, pending_size = [], 0
        if after_block is not None:
            after_block(min(height, start + rows_per_block))
    pending.append(packer.flush())
    fh.write(_chunk(b"IDAT", b"".join(pending)))
    fh.write(_chunk(b"IEND", b""))
