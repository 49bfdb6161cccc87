"""`pocketsr upscale`: every input in turn, built in memory or on disk, written atomically."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pocketsr.plugin.pocketsr_link.wire import TILE_AUTO, Size, UpscaleOptions, WireError

from .cli_common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_SETUP, UsageError, say
from .cli_plan import Job, plan_jobs
from .cli_progress import ProgressBar
from .cli_signals import Interrupts, is_cancel

if TYPE_CHECKING:
    import numpy as np

    from .imageio import LoadedImage
    from .types import CancelToken, Progress

# While a streamed output is written, finished tiles leave the resident set every this many bytes.
_RELEASE_EVERY = 64 << 20


def cmd_upscale(args: argparse.Namespace) -> int:
    """`pocketsr upscale`: every input in turn; one failure does not stop the others."""
    for old, new in args.renamed_options:
        say(f"{old} is now called {new}; the old name still works for now.")
    _check_numbers(args)
    if getattr(args, "cluster", None):
        from .cluster import run_on_cluster

        return run_on_cluster(args)
    if args.threads:
        from .session import usable_threads

        usable = usable_threads(args.threads)
        if usable != args.threads:
            say(f"--threads {args.threads} is more than this machine's {usable} cores; "
                f"using {usable}.")  # fmt: skip
    upscaler = load_upscaler(args.model, args.device, args.threads)
    if upscaler is None:
        return EXIT_SETUP
    check_with_model(upscaler, args)
    jobs, problems = plan_jobs(args, int(upscaler.info.scale))
    for problem in problems:
        say(problem)
    _clean_work_files({job.target.parent for job in jobs})
    from .types import CancelToken

    token = CancelToken()
    done = failed = 0
    with Interrupts(token):
        for job in jobs:
            try:
                upscale_file(upscaler, job, args, token)
                done += 1
            except BaseException as exc:
                if is_cancel(exc, token):
                    say(f"cancelled; nothing was written for {job.source}.")
                    return EXIT_CANCELLED
                if not isinstance(exc, Exception):
                    raise
                failed += 1
                say(f"{job.source}: {_sentence(exc)}")
    failed += len(problems)
    if len(jobs) + len(problems) > 1 or failed:
        say(f"{done} upscaled, {failed} failed.")
    return EXIT_FAILED if failed else EXIT_OK


def check_with_model(upscaler: Any, args: argparse.Namespace) -> None:
    """The options the loaded model decides (scale, strength), checked before any input is
    read: a UsageError saying why not. The cluster's actors run it too."""
    from .errors import InvalidOptionError, PocketSRError

    if args.scale is not None:
        try:  # the engine's own rule
            upscaler.output_size(Size(64, 64), scale=args.scale)
        except InvalidOptionError as exc:
            raise UsageError(str(exc)) from None
    if args.strength is not None:
        try:
            upscaler.check_strength(args.strength)
        except PocketSRError as exc:
            raise UsageError(str(exc)) from None


def _check_numbers(args: argparse.Namespace) -> None:
    for name, value in (("--width", args.width), ("--height", args.height)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be a positive number of pixels")
    if args.scale is not None and args.scale <= 0:
        raise UsageError("--scale must be positive")
    if args.tile is not None and args.tile <= 0:
        raise UsageError("--tile must be a positive number of pixels")
    cli_options(args)  # the engine's own option checks, before any model is loaded


def _sentence(exc: BaseException) -> str:
    from .errors import PocketSRError

    if isinstance(exc, PocketSRError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return (
            "there was not enough memory; try a smaller --tile, or a smaller --in-memory-limit "
            "so that the output is built on disk."
        )
    return f"unexpected error ({type(exc).__name__}: {exc})."


def load_upscaler(model: str | None, device: str, threads: int | None) -> Any:
    """The engine's Upscaler, or None after saying why it cannot be made."""
    from .errors import PocketSRError

    try:
        from . import Upscaler  # type: ignore[attr-defined]
    except ImportError as exc:
        say(f"the engine cannot be loaded: {exc}.")
        return None
    try:
        kwargs: dict[str, Any] = {"device": device, "threads": threads}
        if model:
            kwargs["model"] = model
        return Upscaler(**kwargs)
    except PocketSRError as exc:
        say(str(exc))
        return None


def _clean_work_files(folders: set[Path]) -> None:
    """Remove what interrupted earlier runs left in the output folders, and say so."""
    from .imageio import clean_stale_work_files

    for folder in sorted(folders):
        removed = clean_stale_work_files(folder)
        if removed:
            say(
                f"removed {len(removed)} working file(s) that an interrupted earlier run left "
                f"in {folder}."
            )


def _check_target(job: Job, overwrite: bool) -> None:
    """Everything about the output, checked before the first tile rather than after the last."""
    from . import imageio

    if job.target.resolve() == job.source.resolve() and not overwrite:
        raise imageio.ImageFileError(
            f"the output would replace the input {job.source}; pass --overwrite to allow it."
        )
    imageio.check_output(job.target)
    if job.target.exists() and not overwrite:
        raise imageio.ImageFileError(
            f"{job.target} already exists; pass --overwrite to replace it."
        )
    try:
        job.target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise imageio.ImageFileError(
            f"cannot make the folder {job.target.parent}: {exc.strerror or exc}."
        ) from None
    imageio.check_output(job.target)  # now that the folder exists: it takes our files


def upscale_file(upscaler: Any, job: Job, args: argparse.Namespace, token: CancelToken) -> Size:
    """One input to its output as `pocketsr upscale` makes it (also on a cluster); its size."""
    from . import imageio
    from .plan import upscale_arguments
    from .types import Rect

    _check_target(job, args.overwrite)
    loaded = imageio.read_image(job.source)
    pixels = loaded.pixels  # the engine takes grey, grey+alpha, RGB and RGBA as they are
    height, width = pixels.shape[:2]
    roi = Rect(*args.roi) if args.roi else None
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    sizing = upscale_arguments(upscaler.info, Size(width, height), cli_options(args), roi, channels)
    out = upscaler.output_size(
        Size(width, height), scale=sizing.get("scale"), size=sizing.get("size"), roi=roi
    )
    options: dict[str, Any] = {**sizing, "cancel": token}
    shape = (out.height, out.width) if pixels.ndim == 2 else (out.height, out.width, channels)
    out_bytes = out.width * out.height * channels * pixels.dtype.itemsize
    bar = ProgressBar(job.source.name, enabled=not args.quiet)
    try:
        if out_bytes > args.in_memory_limit_mb * 2**20:
            _upscale_on_disk(upscaler, pixels, shape, loaded, job, args, options, bar)
        else:
            result = upscaler.upscale(pixels, progress=bar, **options)
            bar.close()
            imageio.write_image(
                job.target, result, loaded.meta, overwrite=args.overwrite, cancel=token
            )
    finally:
        bar.close()
    if not args.quiet:
        say(f"{job.source} -> {job.target} ({out.width}x{out.height})")
    return out


def cli_options(args: argparse.Namespace) -> UpscaleOptions:
    """The command line's sizing and tile flags as the engine's one options schema."""
    sized = bool(args.width or args.height)
    try:
        return UpscaleOptions(
            scale=None if sized or not args.scale else args.scale,
            size=Size(args.width or 0, args.height or 0) if sized else None,  # 0 keeps aspect
            tile=args.tile or TILE_AUTO,
            strength=args.strength,
            alpha_mode=args.alpha_mode,
            seamless=args.seamless,
        )
    except WireError as exc:
        raise UsageError(str(exc)) from None


def _upscale_on_disk(
    upscaler: Any,
    pixels: np.ndarray,
    shape: tuple[int, ...],
    loaded: LoadedImage,
    job: Job,
    args: argparse.Namespace,
    options: dict[str, Any],
    bar: ProgressBar,
) -> None:
    """Build the output in a file on disk (a memmap) and commit it when whole."""
    from . import imageio

    with imageio.StreamedOutput(
        job.target, shape, pixels.dtype, loaded.meta, overwrite=args.overwrite
    ) as sink:
        pixel_bytes = sink.array.itemsize * (1 if len(shape) == 2 else shape[2])
        pending = [0]

        def progress(report: Progress) -> None:
            bar(report)
            # Drop finished tiles from the resident set as they are written: RSS stays bounded.
            pending[0] += report.rect.area * pixel_bytes if report.rect else 0
            if pending[0] >= _RELEASE_EVERY:
                sink.release()
                pending[0] = 0

        upscaler.upscale(pixels, progress=progress, out=sink.array, **options)
        sink.release()
        bar.close()
        sink.commit(cancel=options["cancel"])
