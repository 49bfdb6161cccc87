"""Krita pixel bytes <-> engine pixel bytes, and selection masks. Standard library only.

Krita hands out pixels at the document's own depth. Measured in Krita 5.1 and 5.2: for
RGBA, U8 and U16 are laid out B,G,R,A in memory while F16 and F32 are R,G,B,A; GRAYA is
gray,alpha at every depth. The engine wants R,G,B,A (or gray,alpha) in the same dtype.
Everything that depends on that layout lives in this module and nowhere else.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from operator import itemgetter

# Krita colour depth id -> (engine dtype, bytes per sample).
DEPTHS = {"U8": ("uint8", 1), "U16": ("uint16", 2), "F16": ("float16", 2), "F32": ("float32", 4)}
# Krita colour model id -> channels in its pixel data.
MODELS = {"RGBA": 4, "GRAYA": 2}
# Depths whose RGBA pixels are stored blue first.
BGR_DEPTHS = ("U8", "U16")
# array typecodes that copy samples of each size bit for bit.
_RAW_CODES = {1: "B", 2: "H", 4: "I" if array("I").itemsize == 4 else "L"}


class UnsupportedPixels(ValueError):
    """The colour model or depth cannot be upscaled as it is; str() tells the user what to do."""


def check_format(model: str, depth: str) -> tuple[int, str]:
    """(channels, engine dtype) for a Krita colour model and depth, or UnsupportedPixels."""
    if model not in MODELS:
        raise UnsupportedPixels(
            f"PocketSR upscales RGB and grayscale images; this one is {model}. Convert it "
            "first with Image → Convert Image Color Space… (RGB/Alpha), then try again."
        )
    if depth not in DEPTHS:
        raise UnsupportedPixels(
            f"PocketSR does not support the colour depth {depth}; convert the image to 8-bit, "
            "16-bit or 32-bit float first (Image → Convert Image Color Space…)."
        )
    return MODELS[model], DEPTHS[depth][0]


def _samples(data: bytes, depth: str) -> array:
    """A mutable copy of data as an array of raw samples of the depth's size."""
    return array(_RAW_CODES[DEPTHS[depth][1]], bytes(data))


def _swap_red_blue(data: bytes, model: str, depth: str) -> bytes:
    """data with channels 0 and 2 exchanged when this layout is blue first, else unchanged."""
    if model != "RGBA" or depth not in BGR_DEPTHS:
        return bytes(data)
    samples = _samples(data, depth)
    first = samples[0::4]
    samples[0::4] = samples[2::4]
    samples[2::4] = first
    return samples.tobytes()


def to_engine(data: bytes, model: str, depth: str) -> bytes:
    """Krita's pixel bytes -> the engine's (R,G,B,A or gray,alpha) at the same depth."""
    check_format(model, depth)
    return _swap_red_blue(data, model, depth)


def from_engine(data: bytes, model: str, depth: str) -> bytes:
    """The engine's pixel bytes -> Krita's layout at the same depth."""
    check_format(model, depth)
    return _swap_red_blue(data, model, depth)


def scale_mask(mask: bytes, width: int, height: int, out_width: int, out_height: int) -> bytes:
    """A one-byte-per-pixel mask resized to out_width x out_height (nearest neighbour)."""
    if (out_width, out_height) == (width, height):
        return bytes(mask)
    xs = [min(width - 1, (2 * i + 1) * width // (2 * out_width)) for i in range(out_width)]
    ys = [min(height - 1, (2 * j + 1) * height // (2 * out_height)) for j in range(out_height)]
    pick = itemgetter(*xs) if out_width > 1 else (lambda row: (row[xs[0]],))
    rows: dict[int, bytes] = {}
    out = bytearray()
    for y in ys:
        if y not in rows:
            rows[y] = bytes(pick(mask[y * width : (y + 1) * width]))
        out += rows[y]
    return bytes(out)


def _scaled_alpha_ints(alpha: Sequence[int], mask: bytes) -> list[int]:
    """Integer alpha times mask/255, rounded half up (exact integer maths)."""
    return [(a * m + 127) // 255 for a, m in zip(alpha, mask, strict=True)]


def apply_mask(data: bytes, mask: bytes, model: str, depth: str) -> bytes:
    """Engine/Krita pixel bytes with alpha multiplied by a one-byte-per-pixel mask (255 = keep).

    The alpha channel is the last in both RGBA and GRAYA and in both byte orders, so this works
    on either side of the conversion.
    """
    channels, _ = check_format(model, depth)
    if mask.count(255) == len(mask):
        return bytes(data)
    if depth == "F16":
        samples = array("H", bytes(data))
        bits = samples[channels - 1 :: channels]
        alpha = struct.unpack(f"={len(bits)}e", bits.tobytes())
        scaled = [a * (m / 255.0) for a, m in zip(alpha, mask, strict=True)]
        samples[channels - 1 :: channels] = array("H", struct.pack(f"={len(scaled)}e", *scaled))
        return samples.tobytes()
    if depth == "F32":
        samples = array("f", bytes(data))
        alpha = samples[channels - 1 :: channels]
        samples[channels - 1 :: channels] = array(
            "f", [a * (m / 255.0) for a, m in zip(alpha, mask, strict=True)]
        )
        return samples.tobytes()
    samples = _samples(data, depth)
    samples[channels - 1 :: channels] = array(
        samples.typecode, _scaled_alpha_ints(samples[channels - 1 :: channels], mask)
    )
    return samples.tobytes()
