"""Image loading for the benchmarks: everything becomes 8-bit RGB (uint8 HxWx3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def to_rgb8(img: Image.Image) -> tuple[np.ndarray, str]:
    """Convert a Pillow image to uint8 RGB; return it with a note of what was converted."""
    notes = []
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: keep the top 8 bits.
        arr = np.asarray(img, dtype=np.uint32) >> 8
        img = Image.fromarray(arr.astype(np.uint8), mode="L")
        notes.append("16-bit to 8-bit")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Alpha is dropped (colour kept as stored): SR peers and metrics see the RGB planes only.
        notes.append("alpha dropped")
        img = img.convert("RGBA").convert("RGB")
    elif img.mode in ("L", "1"):
        notes.append("gray to RGB")
        img = img.convert("RGB")
    elif img.mode != "RGB":
        notes.append(f"{img.mode} to RGB")
        img = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8)), ", ".join(notes)


def load_rgb8(path: str | Path) -> np.ndarray:
    """Load an image file as uint8 RGB (HxWx3)."""
    with Image.open(path) as im:
        im.load()
        return to_rgb8(im)[0]


def load_rgb8_noted(path: str | Path) -> tuple[np.ndarray, str]:
    """Load an image file as uint8 RGB and say what was converted (alpha, gray, 16-bit)."""
    with Image.open(path) as im:
        im.load()
        arr, note = to_rgb8(im)
        if _is_16bit_png(path, im):
            note = ", ".join(n for n in ("16-bit PNG read as 8-bit by Pillow", note) if n)
        return arr, note


def _is_16bit_png(path: str | Path, im: Image.Image) -> bool:
    """Return True for a PNG whose header says 16 bits per sample."""
    if im.format != "PNG":
        return False
    with open(path, "rb") as f:
        head = f.read(25)
    return len(head) >= 25 and head[24] == 16


def list_images(folder: str | Path) -> list[Path]:
    """Return the image files of a folder, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def pil_resize(img: np.ndarray, size: tuple[int, int], method: int) -> np.ndarray:
    """Resize a uint8 RGB array to (width, height) with a Pillow resampling filter."""
    return np.asarray(Image.fromarray(img).resize(size, method), dtype=np.uint8)
