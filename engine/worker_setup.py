"""The worker process's surroundings: its log file, its parent, its private pipes."""

from __future__ import annotations

import ctypes
import logging
import logging.handlers
import os
import signal
import sys
from pathlib import Path
from typing import IO

from pocketsr.plugin.pocketsr_link import paths

LOG_NAME = paths.LOG_NAME
LOG_MAX_BYTES = 1 << 20
LOG_BACKUPS = 3
PR_SET_PDEATHSIG = 1


def default_log_dir() -> Path:
    """The user's log folder for PocketSR (the bridge's own rule: pocketsr_link/paths.py)."""
    return Path(paths.default_log_dir())


def setup_logging(log_dir: Path) -> Path:
    """Send this process's log records to a rotating worker.log in log_dir; return its path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_NAME
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s pid=%(process)d %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """On Linux, ask the kernel to send sig when the parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def parent_already_gone() -> bool:
    """True when the host that started us died before the death signal was armed."""
    expected = os.environ.get("POCKETSR_PARENT_PID", "")
    if not expected.isdigit():
        return False
    # Not getppid() != expected: an interpreter wrapper that does not exec sits in between.
    try:
        os.kill(int(expected), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def protocol_streams() -> tuple[IO[bytes], IO[bytes]]:
    """Private binary handles on stdin/stdout; fd 1 then points at stderr.

    Anything else that prints (a library, a C extension) would corrupt the frame stream, so
    only our private duplicate of the original stdout ever reaches the host.
    """
    sys.stdout.flush()
    out = open(os.dup(sys.stdout.fileno()), "wb")  # noqa: SIM115 - lives as long as the process
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    inp = open(os.dup(sys.stdin.fileno()), "rb")  # noqa: SIM115
    return inp, out
