"""A full disk: told up front where possible (reserve), and always as a sentence."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from .errors import ImageFileError

_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def disk_full_error(folder: Path, needed: int) -> ImageFileError:
    """The sentence for a full disk: where, how much was needed, how much is free."""
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        free = 0
    return ImageFileError(
        f"the disk holding {folder} is full: {needed / 2**20:.0f} MB needed, "
        f"{free / 2**20:.0f} MB free. Nothing was written."
    )


@contextlib.contextmanager
def disk_full_as_sentence(folder: Path, needed: int) -> Iterator[None]:
    """Turn a full disk met inside the block into the disk_full_error sentence."""
    try:
        yield
    except OSError as exc:
        if _is_disk_full(exc, folder, needed):
            raise disk_full_error(folder, needed) from None
        raise


def reserve(path: Path, nbytes: int) -> None:
    """Give a working file its whole size on disk now, so a full disk is an error up front.

    A memory-mapped file left sparse gets its blocks when pages are written, and on a full
    disk the process dies of SIGBUS instead of hearing ENOSPC.
    """
    with disk_full_as_sentence(path.parent, nbytes), open(path, "r+b") as fh:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(fh.fileno(), 0, nbytes)
        else:
            free = shutil.disk_usage(path.parent).free
            if free < nbytes - os.path.getsize(path):
                raise OSError(errno.ENOSPC, "no space left on device")
            fh.truncate(nbytes)


def _is_disk_full(exc: OSError, folder: Path, needed: int) -> bool:
    """ENOSPC, or a short write (some encoders raise without an errno) on a disk that really
    has less room than the image's raw size."""
    if exc.errno in _DISK_FULL:
        return True
    if exc.errno is not None:
        return False
    try:
        return shutil.disk_usage(folder).free < needed
    except OSError:
        return False
