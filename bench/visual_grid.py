"""A labelled PNG grid over ../shared/data/real: the same LR crop upscaled x4 by each method.

Run from the repository root: `python -m bench.visual_grid --out bench/out/real_grid.png`.
The output holds third-party pixels: keep it under bench/out/ (git-ignored), never commit it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bench.images import list_images, load_rgb8_noted
from bench.metrics import rgb_to_y
from bench.peers import SCALE, Method, available_methods

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "bench" / "out" / "real_grid.png"
GRID_METHODS = (
    "bicubic",
    "RealESRGAN_x4plus",
    "realesr-animevideov3",
    "pocketsr-nano",
    "pocketsr-nano-fidelity",
)
GAP = 4
HEADER = 36
BG = (24, 24, 24)
FG = (235, 235, 235)


def pick_region(img: np.ndarray, size: int, stride: int = 16) -> tuple[int, int, int]:
    """Return (top, left, side) of the square crop with the most gradient energy."""
    h, w = img.shape[:2]
    side = min(size, h, w)
    y = rgb_to_y(img)
    grad = np.abs(np.diff(y, axis=0))[:, :-1] + np.abs(np.diff(y, axis=1))[:-1, :]
    integral = np.pad(grad.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, best_pos = -1.0, (0, 0)
    s = side - 1
    for top in range(0, h - side + 1, stride):
        for left in range(0, w - side + 1, stride):
            b, r = min(top + s, grad.shape[0]), min(left + s, grad.shape[1])
            e = integral[b, r] - integral[top, r] - integral[b, left] + integral[top, left]
            if e > best:
                best, best_pos = float(e), (top, left)
    return best_pos[0], best_pos[1], side


def upscale_crop(
    method: Method, img: np.ndarray, region: tuple[int, int, int], margin: int = 16
) -> np.ndarray:
    """Upscale the crop with `margin` LR pixels of context around it, then cut the crop out."""
    top, left, side = region
    h, w = img.shape[:2]
    t0, l0 = max(top - margin, 0), max(left - margin, 0)
    t1, l1 = min(top + side + margin, h), min(left + side + margin, w)
    sr = method.upscale(np.ascontiguousarray(img[t0:t1, l0:l1]))
    oy, ox = (top - t0) * SCALE, (left - l0) * SCALE
    return sr[oy : oy + side * SCALE, ox : ox + side * SCALE]


def _font(size: int) -> ImageFont.ImageFont:
    """Pillow's bundled font at a readable size."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no sized default font
        return ImageFont.load_default()


def _label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int) -> None:
    """Draw text on a dark box so it reads over any image."""
    font = _font(size)
    box = draw.textbbox(xy, text, font=font)
    draw.rectangle((box[0] - 4, box[1] - 3, box[2] + 4, box[3] + 3), fill=(0, 0, 0))
    draw.text(xy, text, fill=FG, font=font)


def build_grid(
    images: list[tuple[str, np.ndarray]], methods: list[Method], crop: int
) -> Image.Image:
    """Rows = images, columns = methods; each cell the x4 output of the same LR crop."""
    cell = crop * SCALE
    width = len(methods) * (cell + GAP) + GAP
    height = HEADER + len(images) * (cell + GAP) + GAP
    grid = Image.new("RGB", (width, height), BG)
    draw = ImageDraw.Draw(grid)
    for j, m in enumerate(methods):
        draw.text((GAP + j * (cell + GAP) + 6, 8), m.name, fill=FG, font=_font(20))
    for i, (name, img) in enumerate(images):
        region = pick_region(img, crop)
        y = HEADER + i * (cell + GAP)
        for j, m in enumerate(methods):
            print(f"{name}: {m.name}", file=sys.stderr, flush=True)
            out = upscale_crop(m, img, region)
            x = GAP + j * (cell + GAP)
            grid.paste(Image.fromarray(out), (x, y))
        top, left, side = region
        _label(draw, (GAP + 6, y + 6), f"{name}  LR crop {side}px at ({left},{top})", 16)
    return grid


def main(argv: list[str] | None = None) -> int:
    """Build the grid PNG."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--methods", nargs="+", default=list(GRID_METHODS))
    ap.add_argument("--crop", type=int, default=128, help="LR crop side (output is 4x)")
    ap.add_argument("--limit", type=int, default=None, help="first N images of real/")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    real_dir = args.data_dir / "real"
    if not real_dir.is_dir():
        print(f"real/ not found under {args.data_dir} (pass --data-dir)", file=sys.stderr)
        return 2
    methods, missing = available_methods(args.methods, args.threads)
    for why in missing.values():
        print(f"skipping: {why}", file=sys.stderr)
    if not methods:
        return 2
    images = []
    for path in list_images(real_dir)[: args.limit]:
        img, note = load_rgb8_noted(path)
        if note:
            print(f"{path.name}: {note}", file=sys.stderr)
        images.append((path.name, img))
    grid = build_grid(images, methods, args.crop)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    grid.save(args.out, optimize=False, compress_level=6)
    print(f"wrote {args.out} ({grid.width}x{grid.height})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
