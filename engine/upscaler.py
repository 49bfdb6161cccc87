"""The orchestrator: check the request, run the tile plan, blend, and stream finished pixels."""

from __future__ import annotations

import functools
import math
import os
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import Cancelled, InvalidImageError, InvalidOptionError, ModelError, OutOfMemoryError
from .modelinfo import load_model_info, read_model_info
from .session import ModelSession
from .tiles import Tile, TilePlan, plan_tiles, reflect_indices
from .types import CancelToken, ModelInfo, Progress, Rect, Size

DEFAULT_MODEL = "pocketsr-nano"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MEMORY_BUDGET_MB = 1024
CPU_TILE = 512  # input pixels; bigger CPU tiles barely raise throughput but hurt cancel latency
GPU_TILE = 1024
MIN_OOM_TILE = 64  # below this, out-of-memory retries stop and OutOfMemoryError is raised
_MAXVAL = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
_FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

ProgressCallback = Callable[[Progress], None]


def embedded_models() -> dict[str, ModelInfo]:
    """The models shipped in engine/weights/, by name (file stem), with their ModelInfo."""
    found = {}
    for path in sorted(WEIGHTS_DIR.glob("*.onnx")):
        stat = path.stat()
        found[path.stem] = _cached_info(str(path), stat.st_mtime_ns, stat.st_size)
    return found


@functools.lru_cache(maxsize=32)
def _cached_info(path: str, mtime_ns: int, size: int) -> ModelInfo:
    return load_model_info(path)


def user_models_dir() -> Path:
    """The folder of models the user added: $POCKETSR_MODELS_DIR, else the installer's one."""
    override = os.environ.get("POCKETSR_MODELS_DIR")
    if override:
        return Path(override).expanduser()
    from pocketsr.installers import platforms  # the one per-platform folder rule

    return platforms.models_dir(platforms.detect_system())


def user_models() -> dict[str, ModelInfo]:
    """The models in the user's models folder, by name (file stem); unreadable ones skipped."""
    found = {}
    folder = user_models_dir()
    for path in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
        stat = path.stat()
        try:
            found[path.stem] = _cached_info(str(path), stat.st_mtime_ns, stat.st_size)
        except ModelError:
            continue
    return found


def model_path(model: str | os.PathLike[str]) -> Path:
    """The .onnx file for a model name (user's folder, then embedded) or a path; else ModelError."""
    text = os.fspath(model)
    looks_like_path = (
        isinstance(model, os.PathLike) or text.endswith(".onnx") or "/" in text or os.sep in text
    )
    if looks_like_path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ModelError(f"The model file '{path}' does not exist.")
        return path
    for folder in (user_models_dir(), WEIGHTS_DIR):
        path = folder / f"{text}.onnx"
        if path.is_file():
            return path
    names = sorted(p.stem for p in WEIGHTS_DIR.glob("*.onnx"))
    have = ", ".join(names) if names else "none are installed yet"
    raise ModelError(
        f"There is no embedded model named '{text}' (embedded models: {have}); "
        "give the path of an .onnx file instead."
    )


class Upscaler:
    """Upscales numpy images with one super-resolution model, in seamless tiles."""

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        device: str = "auto",
        threads: int | None = None,
        *,
        memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
    ) -> None:
        self._session = ModelSession(model_path(model), device=device, threads=threads)
        self._fallback: ModelSession | None = None
        self.info: ModelInfo = read_model_info(self._session)
        if self.info.in_channels not in (1, 3):
            raise ModelError(
                f"The model '{self.info.name}' takes {self.info.in_channels} channels; "
                "only RGB (3) or single-channel models are supported."
            )
        self.memory_budget_mb = memory_budget_mb

    @property
    def providers(self) -> list[str]:
        """The ONNX Runtime providers in use, best first."""
        return self._session.providers

    def output_size(
        self,
        image_size: Size | tuple[int, int],
        *,
        scale: float | None = None,
        size: Size | tuple[int, int] | None = None,
        roi: Rect | tuple[int, int, int, int] | None = None,
    ) -> Size:
        """The size upscale() returns for an image of this (width, height) and these options."""
        full = image_size if isinstance(image_size, Size) else Size(*image_size)
        return _target_size(_check_roi(roi, full).size, self.info.scale, scale, size)

    def upscale(
        self,
        image: np.ndarray,
        *,
        scale: float | None = None,
        size: Size | tuple[int, int] | None = None,
        roi: Rect | tuple[int, int, int, int] | None = None,
        tile: int | str | None = "auto",
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Upscale an image (or its ROI); returns an array of the same dtype and channel layout.

        scale: None for the model's native factor, or any factor from 1 up to it.
        size: a target Size(width, height) instead of scale (0 on one side keeps the aspect).
        roi: the input rectangle to upscale; the result covers just that rectangle.
        tile: model window side in input pixels, "auto" (from the memory budget) or None (one
        window). progress: called after each tile with the output rectangle just finished.
        cancel: a CancelToken, checked between tiles and watched during each model run.
        out: an array or memmap to write into. After an out-of-memory retry with smaller tiles,
        progress starts again from done=1 with the new total.
        """
        source = _Source(image)
        region = _check_roi(roi, source.size)
        out_size = _target_size(region.size, self.info.scale, scale, size)
        result = _check_out(out, source.output_shape(out_size), source.dtype)
        native = out_size == region.size.scaled(self.info.scale)
        context = self.info.overlap
        if source.alpha is not None or not native:
            # Lanczos reaches 3 source pixels, more when shrinking: keep them inside the window.
            shrink = max(region.width / out_size.width, region.height / out_size.height, 1.0)
            context += math.ceil(3 * shrink) + 1
        window = self._tile_size(tile, context)
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The upscale was cancelled before it started.")
        source.prepare()
        failed_at: int | None = None  # window side that last ran out of memory
        while True:
            plan = plan_tiles(
                region,
                out_size,
                model_scale=self.info.scale,
                tile=window,
                context=context,
                blend=max(2, math.ceil(self.info.overlap / 2)),
                multiple=self.info.size_multiple,
            )
            try:
                self._run(plan, source, result, progress, cancel)
                return result
            except OutOfMemoryError as exc:
                window = (plan.tile // 2) // self.info.size_multiple * self.info.size_multiple
                smallest = max(MIN_OOM_TILE, self.info.size_multiple)
                if window < smallest or (failed_at is not None and plan.tile >= failed_at):
                    raise OutOfMemoryError(
                        f"Out of memory even with {plan.tile}px tiles; close other programs, "
                        "use a smaller region or the CPU device."
                    ) from exc
                failed_at = plan.tile

    def _tile_size(self, tile: int | str | None, context: int) -> int | None:
        """The requested window side in input pixels, or None for a single window."""
        if tile is None or (isinstance(tile, int) and not isinstance(tile, bool) and tile == 0):
            return None
        if tile == "auto":
            info = self.info
            bytes_per_pixel = 4 * (info.in_channels + info.out_channels * info.scale**2) * 8
            side = int(math.sqrt(self.memory_budget_mb * 2**20 / bytes_per_pixel))
            if info.tile_safe:  # models that are not get the biggest window the budget allows
                side = min(side, CPU_TILE if self._session.is_cpu else GPU_TILE)
            side = side // info.size_multiple * info.size_multiple
            return max(side, 2 * context + 16)
        if isinstance(tile, bool) or not isinstance(tile, int | np.integer) or tile < 0:
            raise InvalidOptionError(
                f"tile must be 'auto', None or a positive number of pixels, not {tile!r}."
            )
        return int(tile)

    def _run(
        self,
        plan: TilePlan,
        source: _Source,
        out: np.ndarray,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> None:
        """Run every tile, blend overlaps through thin carry buffers, write finished blocks."""
        channels = source.work_channels
        blend_y = plan.rows[0].ramp_out
        # Partial sums of the overlap with the next tile row (carry_next) and column (carry_x):
        # memory stays a few tile-sized buffers plus blend_y output rows, never the image.
        carry_prev = np.zeros((blend_y, plan.out_size.width, channels), np.float32)
        carry_next = np.zeros_like(carry_prev)
        carry_x: np.ndarray | None = None
        total, start = len(plan), time.monotonic()
        for tile in plan:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("The upscale was cancelled.")
            xs, ys = tile.xspan, tile.yspan
            acc = self._tile_output(tile, plan, source, cancel)
            acc *= ys.weights()[:, None, None]  # separable: no tile-sized weight array
            acc *= xs.weights()[None, :, None]
            f0, f1 = xs.final_start - xs.out_start, xs.final_end - xs.out_start
            if carry_x is not None and xs.ramp_in:
                acc[:, : xs.ramp_in] += carry_x
            if ys.ramp_in:
                acc[: ys.ramp_in, f0:f1] += carry_prev[:, xs.final_start : xs.final_end]
            carry_x = acc[:, f1:].copy() if xs.ramp_out else None
            if ys.ramp_out:
                bottom = acc[ys.out_len - ys.ramp_out :, f0:f1]
                carry_next[:, xs.final_start : xs.final_end] = bottom
            rect = tile.final
            block = out[rect.slices]
            block[...] = source.to_output(acc[: ys.final_end - ys.out_start, f0:f1])
            if tile.col == len(plan.cols) - 1:
                carry_prev, carry_next = carry_next, carry_prev
            if progress is not None:
                done, elapsed = tile.index + 1, time.monotonic() - start
                eta = elapsed / done * (total - done)
                _report(progress, Progress(done, total, elapsed, eta, rect, block))

    def _tile_output(
        self, tile: Tile, plan: TilePlan, source: _Source, cancel: CancelToken | None
    ) -> np.ndarray:
        """The unweighted output of one tile over its support, H×W×work_channels float32."""
        xs, ys = tile.xspan, tile.yspan
        rgb, alpha = source.window(tile.window)
        upscaled = self._infer(rgb, cancel)
        out_w, out_h = xs.out_len, ys.out_len
        if plan.native:
            rows = slice(round(ys.src_start), round(ys.src_end))
            colour = upscaled[rows, round(xs.src_start) : round(xs.src_end)]
        else:
            box = (xs.src_start, ys.src_start, xs.src_end, ys.src_end)
            colour = np.stack([_resize(upscaled[..., c], box, out_w, out_h) for c in range(3)], -1)
        if alpha is None:
            return np.ascontiguousarray(colour, dtype=np.float32)
        s = plan.model_scale
        box = (xs.src_start / s, ys.src_start / s, xs.src_end / s, ys.src_end / s)
        plane = np.clip(_resize(alpha, box, out_w, out_h), 0.0, 1.0)
        return np.concatenate([colour, plane[..., None]], axis=-1)

    def _infer(self, rgb: np.ndarray, cancel: CancelToken | None) -> np.ndarray:
        """Run the model on an H×W×3 float32 window; returns (H*s)×(W*s)×3."""
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
        result = self._run_model(self._session, batch, cancel)
        if _looks_broken(result, batch):
            warnings.warn(
                f"The model gave NaN, infinite or black output on a {rgb.shape[1]}x{rgb.shape[0]} "
                "tile on " + ", ".join(self._session.providers) + "; re-running it on the CPU.",
                RuntimeWarning,
                stacklevel=4,
            )
            if self._fallback is None:
                self._fallback = self._session.cpu_copy()
            result = self._run_model(self._fallback, batch, cancel)
            if not np.isfinite(result).all():
                raise ModelError(
                    f"The model '{self.info.name}' produces NaN or infinite values even on the CPU."
                )
        return result[0].transpose(1, 2, 0)

    def _run_model(
        self, session: ModelSession, batch: np.ndarray, cancel: CancelToken | None
    ) -> np.ndarray:
        if self.info.in_channels == 1:
            planes = [session.run(batch[:, c : c + 1], cancel) for c in range(batch.shape[1])]
            result = np.concatenate(planes, axis=1)
        else:
            result = session.run(batch, cancel)
        s = self.info.scale
        expected = (1, 3, batch.shape[2] * s, batch.shape[3] * s)
        if result.shape != expected:
            raise ModelError(
                f"The model '{self.info.name}' returned shape {list(result.shape)} "
                f"for input {list(batch.shape)}; expected {list(expected)}."
            )
        return result


def _looks_broken(result: np.ndarray, batch: np.ndarray) -> bool:
    """NaN/Inf anywhere, or an all-black tile from an input that is clearly not black."""
    # min/max propagate NaN and show Inf, without a tile-sized boolean temporary.
    low, high = float(result.min()), float(result.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        return True
    return max(-low, high) < 1e-6 and float(batch.max()) > 4 / 255


def _report(progress: Callable[[Progress], object], report: Progress) -> None:
    """Call the caller's progress callback; its failure becomes a sentence, not a raw error."""
    try:
        progress(report)
    except (Cancelled, InvalidOptionError):
        raise
    except Exception as exc:
        raise InvalidOptionError(
            f"The progress callback failed at tile {report.done} of {report.total} "
            f"({type(exc).__name__}: {exc}); the upscale was stopped."
        ) from exc


def _resize(plane: np.ndarray, box: tuple[float, ...], width: int, height: int) -> np.ndarray:
    """Lanczos-resample a float32 plane's box to width×height (Pillow 'F' keeps precision)."""
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS, box=box))


class _Source:
    """The caller's image, validated, handing out float32 RGB(+alpha) windows."""

    def __init__(self, image: object) -> None:
        if not isinstance(image, np.ndarray):
            image = np.asarray(image)
        self.ndim = image.ndim
        if image.ndim not in (2, 3):
            raise InvalidImageError(
                f"An image must be a H×W or H×W×C array; this one has {image.ndim} dimensions "
                f"{list(image.shape)}."
            )
        pixels = image[:, :, None] if image.ndim == 2 else image
        self.channels = pixels.shape[2]
        if self.channels not in (1, 2, 3, 4):
            raise InvalidImageError(
                f"The image has {self.channels} channels; only 1 (gray), 2 (gray + alpha), "
                "3 (RGB) or 4 (RGBA) are supported."
            )
        self.dtype = image.dtype
        if self.dtype not in _MAXVAL and self.dtype not in _FLOATS:
            raise InvalidImageError(
                f"{self.dtype} pixels are not supported; use uint8, uint16, float16 or float32."
            )
        if pixels.shape[0] == 0 or pixels.shape[1] == 0:
            raise InvalidImageError(
                f"The image is empty ({pixels.shape[1]}x{pixels.shape[0]} pixels)."
            )
        self.maxval = _MAXVAL.get(self.dtype)
        self.unit_range = True
        self.colour_channels = 1 if self.channels <= 2 else 3
        # Float colour above 1 (HDR highlights, or floats in 0..255) is divided by its peak on
        # the way into the network and multiplied back on the way out, so nothing is clipped
        # at 1; values below 0 are clipped to 0 (the network works on 0..1).
        self.peak = np.float32(1.0)
        if self.maxval is None:
            # Each sample is scanned once: colour and alpha ranges separately.
            low, high = _finite_range(pixels[..., : self.colour_channels])
            self.peak = np.float32(max(1.0, high))
            if self.channels > self.colour_channels:
                a_low, a_high = _finite_range(pixels[..., self.colour_channels :])
                low, high = min(low, a_low), max(high, a_high)
            self.unit_range = low >= 0.0 and high <= 1.0
        self.pixels = pixels
        self.size = Size(pixels.shape[1], pixels.shape[0])
        self.alpha = self.channels - 1 if self.channels in (2, 4) else None
        self.work_channels = 3 + (self.alpha is not None)
        self._bled: np.ndarray | None = None

    def output_shape(self, size: Size) -> tuple[int, ...]:
        """The result array's shape for an output size."""
        if self.ndim == 2:
            return (size.height, size.width)
        return (size.height, size.width, self.channels)

    def prepare(self) -> None:
        """Bleed colour into fully transparent pixels once, so edges do not darken."""
        if self.alpha is None or self._bled is not None:
            return
        alpha = self._float(self.pixels[..., self.alpha])
        if (alpha > 0).all() or not (alpha > 0).any():
            return
        colour = self._colour(self.pixels[..., : self.colour_channels])
        self._bled = bleed_colour(colour, alpha)

    def _float(self, values: np.ndarray) -> np.ndarray:
        if self.maxval is None:
            return values.astype(np.float32)
        return values.astype(np.float32) / np.float32(self.maxval)

    def _colour(self, values: np.ndarray) -> np.ndarray:
        """Colour samples in the network's 0..1 (floats divided by their peak)."""
        values = self._float(values)
        return values if self.peak == 1 else np.divide(values, self.peak, out=values)

    def window(self, rect: Rect) -> tuple[np.ndarray, np.ndarray | None]:
        """(RGB H×W×3, alpha H×W or None) float32 for a rect, reflect-padded outside the image."""
        rows = reflect_indices(rect.y, rect.bottom, self.size.height)[:, None]
        cols = reflect_indices(rect.x, rect.right, self.size.width)[None, :]
        if self._bled is not None:
            colour = self._bled[rows, cols]
        else:
            colour = self._colour(self.pixels[rows, cols, : self.colour_channels])
        if self.colour_channels == 1:
            colour = np.repeat(colour, 3, axis=2)
        alpha = None if self.alpha is None else self._float(self.pixels[rows, cols, self.alpha])
        return colour, alpha

    def to_output(self, block: np.ndarray) -> np.ndarray:
        """Work values (H×W×3 RGB [+ alpha]) in the caller's dtype and channel layout."""
        colour = block[..., :3]
        if self.colour_channels == 1:
            colour = colour.mean(axis=2, keepdims=True)
        if self.peak != 1:
            colour = np.clip(colour, 0.0, 1.0) * self.peak
        values = colour if self.alpha is None else np.concatenate([colour, block[..., 3:]], -1)
        # In place where possible: block is a scratch buffer owned by the tile.
        if self.maxval is not None:
            values = np.clip(values, 0.0, 1.0, out=values)
            values = np.rint(np.multiply(values, self.maxval, out=values), out=values)
        elif self.unit_range:
            values = np.clip(values, 0.0, 1.0, out=values)
        values = values.astype(self.dtype, copy=False)
        return values[..., 0] if self.ndim == 2 else values


def _finite_range(pixels: np.ndarray) -> tuple[float, float]:
    """(min, max) of a float image, row block by row block; InvalidImageError on NaN/Inf."""
    low, high = math.inf, -math.inf
    step = max(1, (1 << 22) // max(1, pixels.shape[1] * pixels.shape[2]))
    for y in range(0, pixels.shape[0], step):
        block = pixels[y : y + step]
        if not np.isfinite(block).all():
            raise InvalidImageError("The image contains NaN or infinite values.")
        low, high = min(low, float(block.min())), max(high, float(block.max()))
    return low, high


def bleed_colour(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Colour with fully transparent pixels filled from the nearest opaque ones (a pyramid)."""
    known = alpha > 0
    levels = [(colour * known[..., None], known.astype(np.float32)[..., None])]
    while levels[-1][1].shape[0] > 1 or levels[-1][1].shape[1] > 1:
        levels.append(tuple(_halve(a) for a in levels[-1]))
    total, weight = levels[-1]
    fill = total / np.maximum(weight, 1e-12)
    for total, weight in reversed(levels[:-1]):
        h, w = weight.shape[:2]
        coarse = np.repeat(np.repeat(fill, 2, axis=0), 2, axis=1)[:h, :w]
        fill = np.where(weight > 0, total / np.maximum(weight, 1e-12), coarse)
    return np.where(known[..., None], colour, fill).astype(np.float32)


def _halve(a: np.ndarray) -> np.ndarray:
    """2×2 sums (odd edges padded with zeros)."""
    h, w = a.shape[:2]
    a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)))
    return a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]


def _check_roi(roi: Rect | tuple[int, int, int, int] | None, size: Size) -> Rect:
    whole = Rect.of_size(size)
    if roi is None:
        return whole
    if not isinstance(roi, Rect):
        try:
            roi = Rect(*(int(v) for v in roi))
        except (TypeError, ValueError) as exc:
            message = f"The ROI must be (x, y, width, height), not {roi!r}."
            raise InvalidOptionError(message) from exc
    if roi.is_empty or not whole.contains(roi):
        raise InvalidOptionError(
            f"The ROI {roi} (width x height + x + y) must be a non-empty part of the {size} image."
        )
    return roi


def _target_size(
    roi: Size, native: int, scale: float | None, size: Size | tuple[int, int] | None
) -> Size:
    """The output size from scale or size, checked against the model's native factor."""
    if scale is not None and size is not None:
        raise InvalidOptionError("Give either a scale or a target size, not both.")
    if size is not None:
        try:
            width, height = (size.width, size.height) if isinstance(size, Size) else size
            width, height = int(width), int(height)
        except (TypeError, ValueError) as exc:
            message = f"The target size must be (width, height), not {size!r}."
            raise InvalidOptionError(message) from exc
        if width < 0 or height < 0 or width == height == 0:
            raise InvalidOptionError(f"The target size {width}x{height} is not a valid size.")
        if width == 0:
            width = max(1, round(roi.width * height / roi.height))
        if height == 0:
            height = max(1, round(roi.height * width / roi.width))
        if width > roi.width * native or height > roi.height * native:
            raise InvalidOptionError(
                f"The target size {width}x{height} is larger than this model's x{native} "
                f"upscale of {roi} ({roi.width * native}x{roi.height * native})."
            )
        return Size(width, height)
    if scale is None:
        return roi.scaled(native)
    if isinstance(scale, bool) or not isinstance(scale, int | float | np.number):
        raise InvalidOptionError(f"The scale must be a number, not {scale!r}.")
    if not math.isfinite(scale) or scale < 1 or scale > native:
        raise InvalidOptionError(
            f"The scale {scale} is out of range: this model upscales from x1 up to x{native}."
        )
    return Size(max(1, round(roi.width * scale)), max(1, round(roi.height * scale)))


def _check_out(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if out is None:
        return np.empty(shape, dtype)
    if not isinstance(out, np.ndarray):
        raise InvalidOptionError("out must be a numpy array or memmap.")
    if out.shape != shape or out.dtype != dtype:
        raise InvalidOptionError(
            f"out has shape {out.shape} and dtype {out.dtype}; this upscale needs {shape} {dtype}."
        )
    if not out.flags.writeable:
        raise InvalidOptionError("out is read-only.")
    return out


class UpscalerCache:
    """Loaded Upscalers by (model, device, threads); the `keep` most recent stay (thread-safe).

    A model name is looked up in `models_dir` (a folder of extra .onnx files) before the
    embedded models.
    """

    def __init__(self, models_dir: str | None = None, keep: int = 2) -> None:
        self.models_dir = models_dir
        self._keep = keep
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str, int | None], Upscaler] = {}

    def get(
        self, model: str | None = None, device: str | None = None, threads: int | None = None
    ) -> Upscaler:
        """The Upscaler for this model, device and thread count (loading it is slow once)."""
        name = model or DEFAULT_MODEL
        if self.models_dir:
            candidate = os.path.join(self.models_dir, f"{name}.onnx")
            if os.path.isfile(candidate):
                name = candidate
        key = (name, device or "auto", threads)
        with self._lock:
            if key not in self._items:
                if len(self._items) >= self._keep:
                    self._items.pop(next(iter(self._items)))
                self._items[key] = Upscaler(model=name, device=key[1], threads=threads)
            return self._items[key]

    def clear(self) -> None:
        """Drop every loaded model."""
        with self._lock:
            self._items.clear()
