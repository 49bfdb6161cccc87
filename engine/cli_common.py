"""What every `pocketsr` command shares: exit codes, the usage error and one-line messages."""

from __future__ import annotations

import sys
from typing import TextIO

EXIT_OK = 0
EXIT_FAILED = 1  # at least one input could not be upscaled (the others were)
EXIT_USAGE = 2  # the command line is wrong
EXIT_SETUP = 3  # nothing could run: model or dependency missing, unusable device
# Ctrl-C (SIGINT) or SIGTERM: the current file was abandoned, nothing half-written.
EXIT_CANCELLED = 130

EXIT_CODES_HELP = """exit codes:
  0    every input was upscaled
  1    at least one input failed (each failure is reported; the others were written)
  2    the command line is wrong
  3    nothing could run: the model or a dependency is missing, or the device is unusable
  130  cancelled with Ctrl-C: the file in progress was abandoned and nothing partial was left
"""


class UsageError(Exception):
    """A command line that cannot be run; str() says why."""


def say(text: str, stream: TextIO | None = None) -> None:
    """Print one `pocketsr: ...` line (on stderr unless told otherwise)."""
    print(f"pocketsr: {text}", file=stream or sys.stderr, flush=True)
