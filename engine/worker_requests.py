"""What the worker's requests mean: checked pixels, options, plans and model lists.

Shared by the worker process and the bridge's in-process path (worker.run_local), so both
paths check and answer alike.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pocketsr.plugin.pocketsr_link.wire import (
    PLAN,
    UPSCALE,
    Rect,
    Size,
    UpscaleOptions,
    WireError,
)

from . import errors, protocol
from .model_paths import embedded_models, models_in, user_models
from .plan import plan_read, upscale_arguments
from .types import CancelToken, Progress
from .upscaler import Upscaler, UpscalerCache

log = logging.getLogger("pocketsr.worker")


def devices() -> list[str]:
    """Inference devices the engine can use here ("cpu" first)."""
    try:
        from pocketsr.engine.session import available_devices

        return available_devices()
    except Exception:  # info must answer even with a broken runtime
        log.exception("listing devices failed")
        return []


def list_models(models_dir: str | None) -> list[dict[str, Any]]:
    """Every model the engine can run, each as its whole ModelInfo on the wire.

    The embedded ones, the user's models folder, and the configured models folder; a file
    that is not a usable model is left out. Each entry's name is the one to ask
    for it by (the file's stem).
    """
    found = dict(embedded_models())
    found.update(user_models())
    if models_dir:
        found.update(models_in(Path(models_dir)))
    return [info._replace(name=name).to_wire() for name, info in found.items()]


def request_options(header: dict[str, Any]) -> UpscaleOptions:
    """A request's options, checked (InvalidOptionError with the wire's sentence)."""
    try:
        return UpscaleOptions.from_wire(header.get("options"))
    except WireError as exc:
        raise errors.InvalidOptionError(str(exc)) from None


def request_roi(header: dict[str, Any]) -> Rect | None:
    """A request's region, or None for the whole image."""
    roi = header.get("roi")
    if not roi:
        return None
    try:
        return Rect.from_wire(roi, "The region")
    except WireError as exc:
        raise errors.InvalidOptionError(str(exc)) from None


def cached_upscaler(cache: UpscalerCache, options: UpscaleOptions) -> Upscaler:
    """The Upscaler a request's model/device/threads options ask for."""
    return cache.get(options.model, options.device, options.threads)


def plan_reply(cache: UpscalerCache, request: dict[str, Any]) -> dict[str, Any]:
    """The header of the reply to a plan request (width, height, channels, roi, options)."""
    width, height, channels, _ = declared_pixels(request)
    options = request_options(request)
    upscaler = cached_upscaler(cache, options)
    plan = plan_read(upscaler.info, Size(width, height), request_roi(request), options, channels)
    return {"type": PLAN, "id": request.get("id")} | plan.to_wire()


def _array_shape(width: int, height: int, channels: int) -> tuple[int, ...]:
    """The numpy shape of a packed H×W×C image (H×W for one channel)."""
    return (height, width) if channels == 1 else (height, width, channels)


def _int_field(header: dict[str, Any], key: str, low: int, high: int) -> int:
    """An integer header field within [low, high], else InvalidOptionError."""
    value = header.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise errors.InvalidOptionError(f"'{key}' must be an integer from {low} to {high}")
    return value


def pixel_bytes(width: int, height: int, channels: int, dtype: Any) -> int:
    """The bytes of a packed W×H×C image of a wire pixel type (InvalidImageError otherwise)."""
    if dtype not in protocol.DTYPES:
        raise errors.InvalidImageError(f"unsupported pixel type {dtype!r}")
    return width * height * channels * np.dtype(dtype).itemsize


def declared_pixels(header: dict[str, Any]) -> tuple[int, int, int, Any]:
    """(width, height, channels, dtype) of a request's image, the sizes range-checked."""
    width = _int_field(header, "width", 1, 1 << 20)
    height = _int_field(header, "height", 1, 1 << 20)
    channels = _int_field(header, "channels", 1, 4)
    return width, height, channels, header.get("dtype")


def pixels_view(data: Any, width: int, height: int, channels: int, dtype: str) -> np.ndarray:
    """A packed pixel buffer as an H×W[×C] array (no copy), checked against its size."""
    nbytes = pixel_bytes(width, height, channels, dtype)
    if len(data) != nbytes:
        raise errors.InvalidImageError(
            f"{width}x{height}x{channels} {dtype} needs {nbytes} bytes, got {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(_array_shape(width, height, channels))


def mapped_pixels(path: str, width: int, height: int, channels: int, dtype: str) -> np.ndarray:
    """A host's pixel file as a read-only array, checked to hold the whole image."""
    nbytes = pixel_bytes(width, height, channels, dtype)
    if os.path.getsize(path) < nbytes:
        raise errors.InvalidImageError(f"the pixel file holds fewer than {nbytes} bytes")
    return np.memmap(path, dtype=dtype, mode="r", shape=_array_shape(width, height, channels))


def run_local(
    cache: UpscalerCache,
    pixels: Any,
    width: int,
    height: int,
    channels: int,
    dtype: str,
    roi: Any,
    options: dict[str, Any] | None,
    cancel: CancelToken,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[bytes, int, int, int, str]:
    """One request run in this process (the bridge's configured in-process path).

    Returns (bytes, width, height, channels, dtype) of the result, as the worker would send it.
    """
    image = pixels_view(pixels, width, height, channels, dtype)
    header = {"options": options, "roi": roi}
    opts = request_options(header)
    upscaler = cached_upscaler(cache, opts)
    kwargs = upscale_arguments(
        upscaler.info, Size(width, height), opts, request_roi(header), channels
    )
    result = upscaler.upscale(image, progress=on_progress, cancel=cancel, **kwargs)
    result = np.ascontiguousarray(result)
    out_channels = 1 if result.ndim == 2 else result.shape[2]
    return result.tobytes(), result.shape[1], result.shape[0], out_channels, str(result.dtype)


def request_payload_limit(header: dict[str, Any]) -> int:
    """The most inline payload bytes a request can need: an upscale's pixels, else none."""
    if header.get("type") != UPSCALE or (header.get("input") or {}).get("file"):
        return 0
    try:
        nbytes = pixel_bytes(*declared_pixels(header))
    except errors.PocketSRError:
        # The job will fail with its own sentence; chunked reading bounds the memory.
        return protocol.MAX_INLINE_PAYLOAD
    return min(protocol.MAX_INLINE_PAYLOAD, nbytes)
