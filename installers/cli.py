"""`pocketsr install`, `pocketsr uninstall` and `pocketsr doctor`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pocketsr
from pocketsr.installers import doctor, engine_env, manifest, platforms
from pocketsr.installers.engine_env import EngineEnvError
from pocketsr.installers.install import InstallError, Plan, plan_install, plan_uninstall
from pocketsr.installers.layout import HOSTS, LayoutError, default_source_root, placements
from pocketsr.installers.targets import TargetError, hosts_for, resolve
from pocketsr.installers.transaction import TransactionError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def say(text: str) -> None:
    """Print one line of output."""
    print(text, flush=True)


def _common(parser: argparse.ArgumentParser) -> None:
    """Options shared by install and uninstall."""
    parser.add_argument("--host", choices=[*HOSTS, "all"], default="all",
                        help="gimp (3.0), gimp2 (2.10), krita or all (default)")  # fmt: skip
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--profile-dir", type=Path, metavar="DIR", help="a GIMP profile folder")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="Krita's resource folder")
    parser.add_argument("--kritarc", type=Path, metavar="FILE", help="Krita's settings file")


def install_parser() -> argparse.ArgumentParser:
    """The parser of `pocketsr install`."""
    p = argparse.ArgumentParser(
        prog="pocketsr install",
        description="Install the PocketSR plug-ins into every GIMP 3, GIMP 2.10 and Krita "
        "profile found (or the one named) and set up the engine's own Python environment.",
    )
    _common(p)
    p.add_argument("--wheelhouse", type=Path, metavar="DIR", help="install the engine offline")
    p.add_argument("--engine-python", type=Path, metavar="PATH",
                   help="use this interpreter (it must import pocketsr.engine)")  # fmt: skip
    p.add_argument("--engine-dir", type=Path, metavar="DIR", help="where to make the engine venv")
    p.add_argument("--source", type=Path, metavar="DIR", help=argparse.SUPPRESS)
    return p


def uninstall_parser() -> argparse.ArgumentParser:
    """The parser of `pocketsr uninstall`."""
    p = argparse.ArgumentParser(
        prog="pocketsr uninstall",
        description="Remove exactly what `pocketsr install` added (recorded in its manifests).",
    )
    _common(p)
    p.add_argument("--keep-engine", action="store_true", help="keep the engine environment")
    return p


def _fail(command: str, exc: Exception) -> int:
    """Report a failure that left everything unchanged."""
    say(f"pocketsr {command}: {exc}")
    return EXIT_FAILED


def _carry_out(
    plan: Plan, dry_run: bool, on_failure: str, undo: Callable[[], None] = lambda: None
) -> bool:
    """Print a dry run's plan, or apply it; False (after `undo`) when it was rolled back."""
    if dry_run:
        plan.describe(say, "would ")
        say("Dry run: nothing was changed.")
        return True
    try:
        plan.apply()
    except TransactionError as exc:
        undo()
        say(f"{on_failure} {exc}")
        return False
    return True


def install_main(argv: Sequence[str] | None = None) -> int:
    """Run `pocketsr install`; return the exit code."""
    args = install_parser().parse_args(argv)
    system = platforms.detect_system()
    source = args.source or default_source_root()
    if args.wheelhouse is not None and not args.wheelhouse.is_dir():
        return _fail("install", InstallError(f"the wheelhouse {args.wheelhouse} is not a folder"))
    try:
        targets, notes = resolve(args.host, system, args.profile_dir, args.data_dir, args.kritarc)
        for target in targets:
            placements(target.host, source)
        for note in notes:
            say(f"skipped {note}")
        if args.engine_python is not None:
            engine = engine_env.use_existing(args.engine_python)
        else:
            venv = args.engine_dir or platforms.engine_dir(system)
            engine = engine_env.ensure_venv(system, venv, args.wheelhouse, args.dry_run, say)
        plan = plan_install(targets, system, source, engine, pocketsr.__version__)
    except (TargetError, LayoutError, EngineEnvError, InstallError, OSError) as exc:
        return _fail("install", exc)
    for target in targets:
        say(f"{target.label}: {target.root}")
    if plan.empty:
        say("PocketSR is already installed and up to date; nothing to do.")
        return EXIT_OK

    def drop_new_engine() -> None:
        if engine.created is not None:
            shutil.rmtree(engine.created, ignore_errors=True)

    if not _carry_out(
        plan, args.dry_run, "pocketsr install: nothing was installed.", drop_new_engine
    ):
        return EXIT_FAILED
    if args.dry_run:
        return EXIT_OK
    say(f"Installed PocketSR {pocketsr.__version__} (engine: {engine.python}).")
    say("Restart GIMP or Krita to load the plug-in; `pocketsr doctor` checks everything.")
    return EXIT_OK


def uninstall_main(argv: Sequence[str] | None = None) -> int:
    """Run `pocketsr uninstall`; return the exit code."""
    args = uninstall_parser().parse_args(argv)
    system = platforms.detect_system()
    hosts = hosts_for(args.host)
    named = [os.path.abspath(p) for p in (args.profile_dir, args.data_dir) if p is not None]
    chosen = [
        (path, entry)
        for path, entry in manifest.all_targets(system)
        if entry["host"] in hosts and (not named or os.path.abspath(entry["root"]) in named)
    ]
    if not chosen:
        say("PocketSR is not installed there; nothing to do.")
        return EXIT_OK
    for _, entry in chosen:
        say(f"{entry['host']}: {entry['root']}")
    try:
        plan = plan_uninstall(system, chosen, keep_engine=args.keep_engine)
    except OSError as exc:
        return _fail("uninstall", exc)
    if not _carry_out(plan, args.dry_run, "pocketsr uninstall: nothing was removed."):
        return EXIT_FAILED
    if args.dry_run:
        return EXIT_OK
    say("Uninstalled PocketSR.")
    return EXIT_OK


def doctor_main(argv: Sequence[str] | None = None) -> int:
    """Run `pocketsr doctor`; return the exit code."""
    p = argparse.ArgumentParser(
        prog="pocketsr doctor",
        description="Check hosts, plug-in files, the config, the engine and the default model; "
        "print a fix for each problem. Exit status 0 only when all is well.",
    )
    p.add_argument("--no-model", action="store_true", help="skip the default-model test run")
    args = p.parse_args(argv)
    return doctor.doctor(platforms.detect_system(), say, model_check=not args.no_model)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m pocketsr.installers COMMAND ...` (install, uninstall or doctor)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"install": install_main, "uninstall": uninstall_main, "doctor": doctor_main}
    if not argv or argv[0] not in commands:
        say("usage: pocketsr {install,uninstall,doctor} [options] (--help for each)")
        return EXIT_USAGE
    return commands[argv[0]](argv[1:])
