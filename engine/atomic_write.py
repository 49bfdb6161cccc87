"""The one atomic write: a temporary file in the target's folder, fsynced, renamed onto it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import ImageFileError
from .work_files import work_file


class PendingFile:
    """A temporary file beside a target path, renamed onto it by commit() or removed by abort()."""

    def __init__(self, path: Path, overwrite: bool) -> None:
        if not overwrite and path.exists():
            raise ImageFileError(f"{path} already exists; pass overwrite to replace it.")
        self.path = path
        self.overwrite = overwrite
        self.folder = path.parent
        if not self.folder.is_dir():
            raise ImageFileError(f"cannot write {path}: the folder {self.folder} does not exist.")
        try:
            self.tmp = work_file(self.folder, ".part")
        except OSError as exc:
            raise ImageFileError(f"cannot write in {self.folder}: {exc.strerror or exc}.") from None

    def sibling(self, suffix: str) -> Path:
        """Another temporary file in the same folder (the caller removes it)."""
        return work_file(self.folder, suffix)

    def commit(self) -> None:
        """fsync the temporary file, rename it onto the target, fsync the folder."""
        try:
            with open(self.tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(self.tmp, _new_file_mode(self.path))
            if self.overwrite:
                os.replace(self.tmp, self.path)
            else:
                _rename_no_replace(self.tmp, self.path)
        except FileExistsError:
            self.abort()
            raise ImageFileError(
                f"{self.path} appeared while the image was being written; it was left as it "
                "is and nothing was written (pass overwrite to replace it)."
            ) from None
        except BaseException:
            self.abort()
            raise
        _fsync_folder(self.folder)

    def abort(self) -> None:
        """Remove the temporary file; the target is untouched."""
        with contextlib.suppress(OSError):
            self.tmp.unlink()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    On any exception (Cancelled, KeyboardInterrupt included) the temporary file is removed and
    `path` is untouched. Refuses an existing `path` unless overwrite=True.
    """
    pending = PendingFile(Path(path), overwrite)
    try:
        yield pending.tmp
    except BaseException:
        pending.abort()
        raise
    pending.commit()


def _rename_no_replace(src: Path, dst: Path) -> None:
    """Move src to dst, failing with FileExistsError if dst exists at that very moment.

    A hard link refuses an existing name atomically; where links are not possible (some
    network or FAT folders) the check and the rename are two steps, a far smaller window than
    a whole upscale. Windows' rename never replaces.
    """
    if os.name == "nt":
        os.rename(src, dst)
        return
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError:
        if dst.exists():
            raise FileExistsError(str(dst)) from None
        os.rename(src, dst)
        return
    os.unlink(src)


def _new_file_mode(path: Path) -> int:
    # mkstemp makes 0600 files; give the output the mode a plain open() would (or the old one's).
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, so best effort.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
