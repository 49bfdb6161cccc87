"""Our working files beside an output (temporary output, raw pixels) and their cleanup."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

# Working files (the temporary output, a streamed write's raw pixels) are named
# .pocketsr-PID-RANDOM.part / .raw: short, so any legal output name works, and recognisable, so
# a later run can remove those that a killed run left behind (and never a file of anyone else).
WORK_PREFIX = ".pocketsr-"
_WORK_NAME = re.compile(r"^\.pocketsr-(\d+)-[A-Za-z0-9_]+\.(part|raw)$")


def work_file(folder: Path, suffix: str) -> Path:
    """Create an empty working file of ours in `folder` (".part" or ".raw") and return it."""
    fd, name = tempfile.mkstemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", suffix=suffix, dir=folder)
    os.close(fd)
    return Path(name)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return True  # no cheap check: the age rule below decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale_work_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the working files an interrupted run of ours left in `folder`; return them.

    Only names of our pattern whose process is gone (or, where that cannot be checked, older
    than a day) are removed; a run in progress keeps its files.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _WORK_NAME.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        if not _process_alive(int(match.group(1))) or age > 86400:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
