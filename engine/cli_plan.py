"""Where each output of `pocketsr upscale` goes: inputs found in files and folders, then named."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .cli_common import UsageError

# NAME_x4, NAME_x1.5, NAME_800x600, each maybe with _roi: outputs of an earlier run.
OUTPUT_NAME = re.compile(r"_(x\d+(\.\d+)?|\d+x\d+)(_roi)?$")


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
                and not OUTPUT_NAME.search(p.stem)
            )
            if not files:
                problems.append(f"{path}: no PNG, JPEG, TIFF or WebP files in this folder.")
            found.extend((p, path) for p in files)
        elif path.exists():
            found.append((path, path.parent))
        else:
            problems.append(f"{path}: no such file or folder.")
    return found, problems


def output_suffix(args: argparse.Namespace, native_scale: int) -> str:
    """The part added to an input's name: _x4, _800x600, _w800, _h600, then _roi for a region."""
    if args.width or args.height:
        label = f"_{args.width or 0}x{args.height or 0}".replace("_0x", "_h").replace("x0", "w")
    else:
        scale = args.scale if args.scale else native_scale
        label = f"_x{scale:g}"
    return label + ("_roi" if args.roi else "")


def plan_jobs(args: argparse.Namespace, native_scale: int) -> tuple[list[Job], list[str]]:
    """Decide each input's output path from -o / --out-dir / --format."""
    from .imageio import EXTENSIONS, FORMATS

    found, problems = collect_inputs(args.inputs)
    if args.output and (len(found) != 1 or Path(args.inputs[0]).is_dir()):
        raise UsageError("-o/--output takes exactly one input file; use --out-dir for several")
    jobs = []
    suffix = output_suffix(args, native_scale)
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
