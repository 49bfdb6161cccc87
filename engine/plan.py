"""What to read for a region and what it gives: the one rule the engine and every host use.

A host asks before it reads pixels (the worker's "plan" request): for an image, a region
and options, which source rectangle must it send (the region plus the model's context),
what size the upscaled region will be, and where that lands in the upscaled image. The
Upscaler uses the same context rule for its tile windows, so a region read this way gives
the pixels the whole image would give there.
"""

from __future__ import annotations

import math

from pocketsr.plugin.pocketsr_link.wire import (
    ALPHA_RESAMPLE,
    SIZE_OF_IMAGE,
    TILE_WHOLE,
    ModelInfo,
    ReadPlan,
    Rect,
    Size,
    UpscaleOptions,
)

from .upscale_checks import check_roi, target_size

__all__ = ["EDGE_CONTEXT", "plan_read", "upscale_arguments", "window_context"]

# Input pixels a window reads past the image's border (mirrored), at most; the rest of its
# context is read only inside the image. Measured on the shipped weights (bench/QUALITY.md,
# "Context at the image's border"): photos' outer 24 output pixels are as good with 4 as with
# the whole context (within 0.1 dB PSNR-Y), and a flat canvas stays as flat (worst pixel 1.5
# and 0.6 levels of 255 against 1.2 and 0.3; with none: 5.4 and 4.0, a visible line).
EDGE_CONTEXT = 4


def window_context(info: ModelInfo, region: Size, out: Size, alpha: bool) -> int:
    """Input pixels each window (and a host's read) needs around what it upscales.

    Half the model's receptive field; plus the reach of the Lanczos resampling when the
    output is not the model's native size or alpha is resampled (3 source pixels, more when
    shrinking).
    """
    context = info.overlap
    native = out == Size(region.width * info.scale, region.height * info.scale)
    if alpha or not native:
        shrink = max(region.width / out.width, region.height / out.height, 1.0)
        context += math.ceil(3 * shrink) + 1
    return context


def plan_read(
    info: ModelInfo,
    image: Size,
    roi: Rect | tuple[int, int, int, int] | None,
    options: UpscaleOptions,
    channels: int,
) -> ReadPlan:
    """The ReadPlan of upscaling `roi` (None: the whole image) of an image with `options`.

    With a scale (or a target size of the whole image, options.size_of "image") the image
    is scaled by one factor and the region's output spans the rounded edges of the region
    in it; with a target size of the region, the region's output is exactly that size.
    """
    region = check_roi(roi, image)
    if options.size is not None and options.size_of != SIZE_OF_IMAGE:
        output = target_size(region.size, info.scale, None, options.size)
        fx, fy = output.width / region.width, output.height / region.height
        image_output = Size(max(1, round(image.width * fx)), max(1, round(image.height * fy)))
        placement = Rect(round(region.x * fx), round(region.y * fy), *output)
    else:
        size = options.size if options.size_of == SIZE_OF_IMAGE else None
        image_output = target_size(image, info.scale, options.scale, size)
        fx, fy = image_output.width / image.width, image_output.height / image.height
        x0, y0 = round(region.x * fx), round(region.y * fy)
        x1, y1 = round(region.right * fx), round(region.bottom * fy)
        # Never past the model's reach, which the rounding of a near-native factor could ask.
        width = min(max(1, x1 - x0), region.width * info.scale)
        height = min(max(1, y1 - y0), region.height * info.scale)
        placement = Rect(x0, y0, width, height)
        output = target_size(region.size, info.scale, None, placement.size)
    # Twice the windows' context: a window may read its context (and spare room) beyond what
    # it upscales, and a model's weights past the receptive field in its metadata (where tile
    # agreement reached 65 dB) are small, not zero. Reading as far again makes a region give
    # the whole image's pixels bit for bit (pocketsr-nano, 8-bit: exact from 24 px, 1 LSB
    # off at 16).
    context = 2 * window_context(info, region.size, output, alpha=channels in (2, 4))
    read = region.expanded(context).intersect(Rect.of_size(image))
    if options.seamless:  # the borders wrap around: a window may need the far side
        read = Rect.of_size(image)
    return ReadPlan(
        read, region.relative_to(read), output, placement, image_output, (fx, fy), context, info
    )


def upscale_arguments(
    info: ModelInfo, image: Size, options: UpscaleOptions, roi: Rect | None, channels: int
) -> dict:
    """Upscaler.upscale keyword arguments for the wire's options and a region.

    A target size of the whole image becomes the region's own output size by the plan.
    """
    kwargs: dict = {"tile": None if options.tile == TILE_WHOLE else options.tile}
    if options.size is not None and options.size_of == SIZE_OF_IMAGE:
        kwargs["size"] = plan_read(info, image, roi, options, channels).output
    elif options.size is not None:
        kwargs["size"] = options.size
    elif options.scale is not None:
        kwargs["scale"] = options.scale
    if roi is not None:
        kwargs["roi"] = roi
    if options.strength is not None:
        kwargs["strength"] = options.strength
    if options.alpha_mode != ALPHA_RESAMPLE:
        kwargs["alpha_mode"] = options.alpha_mode
    if options.seamless:
        kwargs["seamless"] = True
    return kwargs
