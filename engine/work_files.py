"""Our working files beside an output (temporary output, raw pixels) and their cleanup."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import socket
import tempfile
import time
from pathlib import Path

# Working files (the temporary output, a streamed write's raw pixels) are named
# .pocketsr-PID@HOST-RANDOM.part / .raw: short, so any legal output name works, and
# recognisable, so a later run can remove those that a killed run left behind (and never a file
# of anyone else). HOST is a short tag of the machine's name: on a folder shared between the
# nodes of a cluster a PID only means something on the machine that wrote it.
WORK_PREFIX = ".pocketsr-"
_WORK_NAME = re.compile(r"^\.pocketsr-(\d+)(?:@([0-9a-f]{8}))?-[A-Za-z0-9_]+\.(part|raw)$")
_DAY = 86400.0


def host_tag(hostname: str | None = None) -> str:
    """The 8-hex-digit tag of a machine's name (this machine's by default) in work file names."""
    name = socket.gethostname() if hostname is None else hostname
    return hashlib.sha1(name.encode("utf-8", "replace")).hexdigest()[:8]


def work_file_prefix(pid: int, hostname: str | None = None) -> str:
    """The start of every working file name of process `pid` on that machine."""
    return f"{WORK_PREFIX}{pid}@{host_tag(hostname)}-"


def work_file(folder: Path, suffix: str) -> Path:
    """Create an empty working file of ours in `folder` (".part" or ".raw") and return it."""
    fd, name = tempfile.mkstemp(prefix=work_file_prefix(os.getpid()), suffix=suffix, dir=folder)
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
    than a day) are removed; a run in progress keeps its files. A file another machine wrote
    (a folder shared by a cluster's nodes) is only removed once it is a day old: its PID
    cannot be checked from here.
    """
    removed = []
    now = time.time()
    ours = host_tag()
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
        local = match.group(2) in (None, ours)  # no tag: written before tags, by this machine
        if age > _DAY or (local and not _process_alive(int(match.group(1)))):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed
