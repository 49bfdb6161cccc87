"""The argument parser of the built-in `pocketsr` commands: upscale, models and demo."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .cli_common import EXIT_CODES_HELP

# Outputs up to this size are built in memory, bigger ones in a file on disk. Not the engine's
# memory budget (`Upscaler(memory_budget_mb=...)`), which sizes the tiles.
DEFAULT_IN_MEMORY_LIMIT_MB = 1024
IN_MEMORY_LIMIT_ENV = "POCKETSR_IN_MEMORY_LIMIT_MB"
_OLD_IN_MEMORY_LIMIT_ENV = "POCKETSR_MEMORY_MB"  # the name before the rename, still read


class RenamedOption(argparse.Action):
    """An old option name that still works: stores like the new one and notes its use."""

    def __init__(self, option_strings: Sequence[str], dest: str, *, new_name: str, **kwargs: Any):
        self.new_name = new_name
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        """Store the value and record (old name, new name) in namespace.renamed_options."""
        setattr(namespace, self.dest, values)
        used = getattr(namespace, "renamed_options", ())
        namespace.renamed_options = (*used, (option_string, self.new_name))


def default_in_memory_limit_mb() -> int:
    """The in-memory limit from the environment, else DEFAULT_IN_MEMORY_LIMIT_MB."""
    text = os.environ.get(IN_MEMORY_LIMIT_ENV) or os.environ.get(_OLD_IN_MEMORY_LIMIT_ENV)
    return int(text) if text else DEFAULT_IN_MEMORY_LIMIT_MB


def parse_roi(text: str) -> tuple[int, int, int, int]:
    """`X,Y,W,H` as four whole numbers, with x, y >= 0 and w, h > 0."""
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


def join_negative_roi(args: list[str]) -> list[str]:
    """`--roi -1,0,4,4` as `--roi=-1,...`: argparse would read the value as an option, and
    the region's own check then explains what is wrong with it."""
    out: list[str] = []
    for item in args:
        if out and out[-1] == "--roi" and item.startswith("-") and item[1:2].isdigit():
            out[-1] = f"--roi={item}"
        else:
            out.append(item)
    return out


def _peer_names() -> list[str]:
    from .convert import PEERS

    return sorted(PEERS)


def build_parser(more_commands: Mapping[str, str]) -> argparse.ArgumentParser:
    """The parser of the built-in commands; more_commands (name -> help) goes in the epilog."""
    others = "\n".join(f"  {name:<10} {text}" for name, text in more_commands.items())
    parser = argparse.ArgumentParser(
        prog="pocketsr",
        description="PocketSR Upscale: AI super-resolution from the command line.",
        epilog=f"more commands (when installed):\n{others}\n\n{EXIT_CODES_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_upscale(sub)
    _add_models(sub)
    _add_demo(sub)
    return parser


def _add_upscale(sub: Any) -> None:
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
    up.add_argument(
        "--strength",
        type=float,
        default=None,
        metavar="S",
        help="0 (fidelity) to 1 (detail): mixes a model's weights with its partner's "
        "(pocketsr-nano and pocketsr-nano-fidelity; default: the model's own)",
    )
    up.add_argument(
        "--alpha-mode",
        choices=["resample", "model"],
        default="resample",
        help="resample alpha (default) or run it through the model for crisp cut-out edges",
    )
    up.add_argument(
        "--seamless",
        action="store_true",
        help="wrap around the borders instead of mirroring: tileable textures stay tileable",
    )
    up.add_argument("--tile", type=int, default=None, metavar="N", help="tile size (default auto)")
    up.add_argument("--roi", type=parse_roi, default=None, metavar="X,Y,W,H", help="region only")
    up.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, dml, coreml")
    up.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    up.add_argument(
        "--format", choices=["png", "jpg", "tif", "webp"], help="output format (default: input's)"
    )
    up.add_argument("--overwrite", action="store_true", help="replace existing output files")
    up.add_argument(
        "--in-memory-limit",
        dest="in_memory_limit_mb",
        type=int,
        default=default_in_memory_limit_mb(),
        metavar="MB",
        help="build an output in a file on disk instead of in memory when it is bigger than "
        "this many megabytes; 0 builds every output on disk "
        f"(default %(default)s, or ${IN_MEMORY_LIMIT_ENV})",
    )
    # The old name, hidden: it read like the engine's memory budget, which sizes the tiles.
    up.add_argument(
        "--memory-budget",
        dest="in_memory_limit_mb",
        type=int,
        action=RenamedOption,
        new_name="--in-memory-limit",
        help=argparse.SUPPRESS,
    )
    up.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_cluster_options(up)
    up.set_defaults(renamed_options=())


def _add_cluster_options(up: argparse.ArgumentParser) -> None:
    """`--cluster` and its flags: the same upscale spread over Ray actors (engine/cluster.py)."""
    ray = up.add_argument_group(
        "on a Ray cluster (pip install 'pocketsr[cluster]')",
        "Inputs and outputs must be on storage every node sees. A rerun skips outputs that "
        "are already whole; --threads sets each actor's threads.",
    )
    ray.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="run on Ray: 'local' (start Ray here), 'auto' (the running cluster) or an address",
    )
    ray.add_argument(
        "--actors",
        type=int,
        default=None,
        metavar="N",
        help="how many actors, each with one loaded model (default: the cluster's CPUs divided "
        "by --threads, or one per GPU)",
    )
    ray.add_argument(
        "--report",
        default=None,
        metavar="FILE",
        help="JSON report of the run (default: pocketsr-report.json beside the outputs)",
    )


def _add_models(sub: Any) -> None:
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


def _add_demo(sub: Any) -> None:
    demo = sub.add_parser("demo", help="upscale a sample photo into ./demo-output/")
    demo.add_argument("--out-dir", default="demo-output", metavar="DIR", help="where to write")
    demo.add_argument("--model", default=None, metavar="NAME|PATH", help="model to use")
    demo.add_argument("--device", default="auto", metavar="D", help="auto, cpu, cuda, ...")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
