"""The `pocketsr` command: main() and the lazy registry of the commands other parts add.

The built-in commands live in their own modules: cli_upscale, cli_models and cli_demo, over
cli_parser (the arguments), cli_plan (where outputs go), cli_progress, cli_signals and
cli_common (exit codes and messages).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import cli_parser
from .cli_common import (
    EXIT_CANCELLED,
    EXIT_CODES_HELP,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SETUP,
    EXIT_USAGE,
    UsageError,
    say,
)
from .cli_demo import cmd_demo
from .cli_models import cmd_models
from .cli_upscale import cmd_upscale

__all__ = [
    "EXIT_CANCELLED",
    "EXIT_CODES_HELP",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_SETUP",
    "EXIT_USAGE",
    "EXTERNAL_COMMANDS",
    "ExternalCommand",
    "UsageError",
    "build_parser",
    "main",
]


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

BUILTIN_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "upscale": cmd_upscale,
    "models": cmd_models,
    "demo": cmd_demo,
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
    if name.startswith("-") or name in BUILTIN_COMMANDS:
        return None
    try:
        return _entry_point_commands().get(name)
    except Exception:  # a broken third-party entry point must not break `pocketsr`
        return None


def _run_external(name: str, command: ExternalCommand, argv: list[str]) -> int:
    try:
        module = importlib.import_module(command.module)
    except ModuleNotFoundError as exc:
        if exc.name and command.module.startswith(exc.name):
            say(f"the '{name}' command is not part of this installation ({command.module}).")
            return EXIT_SETUP
        raise
    result = getattr(module, command.function)(argv)
    return int(result or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the built-in commands (the registered ones listed in its help)."""
    return cli_parser.build_parser({n: c.help for n, c in EXTERNAL_COMMANDS.items()})


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    say(f"warning: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `pocketsr` command; returns the exit code."""
    import warnings

    warnings.showwarning = _show_warning  # engine warnings as one plain line each
    args_list = cli_parser.join_negative_roi(list(sys.argv[1:] if argv is None else argv))
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
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return BUILTIN_COMMANDS[args.command](args)
    except KeyboardInterrupt:
        say("cancelled.")
        return EXIT_CANCELLED
    except UsageError as exc:
        parser.exit(EXIT_USAGE, f"pocketsr: error: {exc}\n")


if __name__ == "__main__":
    sys.exit(main())
