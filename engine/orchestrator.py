"""The orchestrator: check the request, choose the tiles, run the model on each, blend."""

from __future__ import annotations

import logging
import math
import os
import warnings

import numpy as np
from PIL import Image

from pocketsr.plugin.pocketsr_link.wire import ALPHA_MODEL, ALPHA_MODES, ALPHA_RESAMPLE

from .errors import Cancelled, InvalidOptionError, ModelError, OutOfMemoryError
from .model_paths import DEFAULT_MODEL, model_path
from .modelinfo import read_model_info
from .plan import EDGE_CONTEXT, window_context
from .session import ModelSession
from .source_image import SourceImage
from .strength import WeightBlend, check_strength
from .tile_blend import ProgressCallback, blend_tiles
from .tile_policy import DEFAULT_MEMORY_BUDGET_MB, TileOption, TilePolicy, out_of_memory_error
from .tiles import Tile, TilePlan, plan_tiles
from .types import CancelToken, ModelInfo, Rect, Size
from .upscale_checks import check_out, check_roi, target_size

log = logging.getLogger(__name__)


class Upscaler:
    """Upscales numpy images with one super-resolution model, in seamless tiles."""

    def __init__(
        self,
        model: str | os.PathLike[str] = DEFAULT_MODEL,
        device: str = "auto",
        threads: int | None = None,
        *,
        memory_budget_mb: int = DEFAULT_MEMORY_BUDGET_MB,
        run_ahead: bool | None = None,
    ) -> None:
        self._session = ModelSession(model_path(model), device=device, threads=threads)
        self._blend: WeightBlend | None = None
        self._mixed: dict[float, ModelSession] = {}  # strength -> session, the last two
        self.info: ModelInfo = read_model_info(self._session)
        if self.info.in_channels not in (1, 3):
            raise ModelError(
                f"The model '{self.info.name}' takes {self.info.in_channels} channels; "
                "only RGB (3) or single-channel models are supported."
            )
        self.memory_budget_mb = memory_budget_mb
        # The next tile's network run overlaps this tile's blending (engine/run_ahead.py).
        # Only where a run leaves cores idle: with ONNX Runtime on every core the overlap
        # gained nothing in six runs (bench/RESULTS.md, 2026-12-08).
        self.run_ahead = self._session.leaves_cores_free if run_ahead is None else run_ahead

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
        return target_size(check_roi(roi, full).size, self.info.scale, scale, size)

    def upscale(
        self,
        image: np.ndarray,
        *,
        scale: float | None = None,
        size: Size | tuple[int, int] | None = None,
        roi: Rect | tuple[int, int, int, int] | None = None,
        tile: TileOption = "auto",
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        out: np.ndarray | None = None,
        strength: float | None = None,
        alpha_mode: str = ALPHA_RESAMPLE,
        seamless: bool = False,
    ) -> np.ndarray:
        """Upscale an image (or its ROI); returns an array of the same dtype and channel layout.

        scale: None for the model's native factor, or any factor from 1 up to it.
        size: a target Size(width, height) instead of scale (0 on one side keeps the aspect).
        roi: the input rectangle to upscale; the result covers just that rectangle.
        tile: model window side in input pixels, "auto" (from the memory budget), "whole" or
        None (one window), or a TilePolicy. progress: called after each tile with the output
        rectangle just finished. cancel: a CancelToken, checked between tiles and watched
        during each model run. out: an array or memmap to write into. After an out-of-memory
        retry with smaller tiles, progress starts again from done=1 with the new total.
        strength: for a model with a partner (info.has_strength), 0 (fidelity) to 1 (detail):
        the two weight sets mixed, one network run (None: the model's own weights).
        alpha_mode: "resample" (Lanczos) or "model" (the alpha plane runs through the network
        too, for crisp cut-out edges; twice the network time). seamless: wrap around the image
        borders instead of mirroring them, so a tileable texture stays tileable.
        """
        if alpha_mode not in ALPHA_MODES:
            raise InvalidOptionError(
                f"The alpha mode must be one of {', '.join(ALPHA_MODES)}, not {alpha_mode!r}."
            )
        session = self._session_for(strength)
        source = SourceImage(image, wrap=bool(seamless))
        region = check_roi(roi, source.size)
        out_size = target_size(region.size, self.info.scale, scale, size)
        result = check_out(out, source.output_shape(out_size), source.dtype)
        # The same rule a host's read follows (engine/plan.py), so a region read with the
        # plan's context gives the pixels the whole image gives there.
        context = window_context(self.info, region.size, out_size, source.alpha is not None)
        policy = TilePolicy.from_option(tile)
        blend = max(2, math.ceil(self.info.overlap / 2))
        window = policy.window(
            self.info,
            context,
            memory_budget_mb=self.memory_budget_mb,
            on_cpu=self._session.is_cpu,
            blend=blend,
        )
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The upscale was cancelled before it started.")
        source.prepare()
        multiple = self.info.size_multiple
        failed_at: int | None = None  # window side that last ran out of memory
        while True:
            plan = plan_tiles(
                region,
                out_size,
                model_scale=self.info.scale,
                tile=window,
                context=context,
                blend=blend,
                multiple=multiple,
                image=None if source.wrap else source.size,
                edge=min(context, EDGE_CONTEXT),
            )
            log.info(
                "upscaling %s of a %s image to %s: %d tile(s) of %s input px (tile policy %s)",
                region.size,
                source.size,
                out_size,
                len(plan),
                plan.window_size,
                policy,
            )
            try:
                blend_tiles(
                    plan,
                    result,
                    channels=source.work_channels,
                    tile_output=lambda t, plan=plan: self._tile_output(
                        t, plan, source, cancel, session, alpha_mode
                    ),
                    to_output=source.to_output,
                    progress=progress,
                    cancel=cancel,
                    ahead=self.run_ahead and len(plan) > 1,
                )
                return result
            except OutOfMemoryError as exc:
                retry = policy.after_out_of_memory(plan.tile, multiple)
                if retry is None or (failed_at is not None and plan.tile >= failed_at):
                    log.info("out of memory with %d px tiles; giving up", plan.tile)
                    raise out_of_memory_error(plan.tile) from exc
                log.info(
                    "out of memory with %d px tiles; retrying with %d px tiles",
                    plan.tile,
                    retry.side,
                )
                failed_at, policy, window = plan.tile, retry, retry.side

    def check_strength(self, strength: float | None) -> None:
        """Check a strength against this model, and load its mix, before any work starts."""
        self._session_for(strength)

    def _session_for(self, strength: float | None) -> ModelSession:
        """The session of these weights (strength None or the model's own) or of a mix."""
        if strength is None:
            return self._session
        strength = check_strength(self.info, strength)
        if strength == self.info.strength:
            return self._session
        if strength not in self._mixed:
            if self._blend is None:
                self._blend = WeightBlend(self.info)
            if len(self._mixed) >= 2:
                self._mixed.pop(next(iter(self._mixed)))
            self._mixed[strength] = ModelSession(
                self._session.path,
                device=self._session.device,
                threads=self._session.threads,
                model_bytes=self._blend.model_bytes(strength),
            )
        return self._mixed[strength]

    def _tile_output(
        self,
        tile: Tile,
        plan: TilePlan,
        source: SourceImage,
        cancel: CancelToken | None,
        session: ModelSession,
        alpha_mode: str,
    ) -> np.ndarray:
        """The unweighted output of one tile over its support, H×W×work_channels float32."""
        xs, ys = tile.xspan, tile.yspan
        rgb, alpha = source.window(tile.window)
        out_w, out_h = xs.out_len, ys.out_len

        def network(planes: np.ndarray) -> np.ndarray:
            upscaled = self._infer(planes, cancel, session)
            if plan.native:
                rows = slice(round(ys.src_start), round(ys.src_end))
                return upscaled[rows, round(xs.src_start) : round(xs.src_end)]
            box = (xs.src_start, ys.src_start, xs.src_end, ys.src_end)
            return np.stack([_resize(upscaled[..., c], box, out_w, out_h) for c in range(3)], -1)

        colour = network(rgb)
        if alpha is None:
            return np.ascontiguousarray(colour, dtype=np.float32)
        if alpha_mode == ALPHA_MODEL:
            # Grey in, grey out: the mean of the three output planes is the alpha plane.
            plane = np.clip(network(np.repeat(alpha[..., None], 3, axis=2)).mean(axis=2), 0, 1)
        else:
            s = plan.model_scale
            box = (xs.src_start / s, ys.src_start / s, xs.src_end / s, ys.src_end / s)
            plane = np.clip(_resize(alpha, box, out_w, out_h), 0.0, 1.0)
        return np.concatenate([colour, plane[..., None]], axis=-1).astype(np.float32, copy=False)

    def _infer(
        self, rgb: np.ndarray, cancel: CancelToken | None, session: ModelSession
    ) -> np.ndarray:
        """Run the model on an H×W×3 float32 window; returns (H*s)×(W*s)×3."""
        batch = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None])
        result = self._run_model(session, batch, cancel)
        if _looks_broken(result, batch):
            providers = ", ".join(session.providers)
            width, height = rgb.shape[1], rgb.shape[0]
            log.info(
                "bad output (NaN, infinite or black) on a %dx%d tile on %s; "
                "re-running it on the CPU",
                width,
                height,
                providers,
            )
            warnings.warn(
                f"The model gave NaN, infinite or black output on a {width}x{height} "
                f"tile on {providers}; re-running it on the CPU.",
                RuntimeWarning,
                stacklevel=2,  # tiles may run in a worker thread: no caller frame to name
            )
            result = self._run_model(session.cpu_fallback(), batch, cancel)
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


def _resize(plane: np.ndarray, box: tuple[float, ...], width: int, height: int) -> np.ndarray:
    """Lanczos-resample a float32 plane's box to width×height (Pillow 'F' keeps precision)."""
    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS, box=box))
