"""All-or-nothing file changes: stage everything, move into place, roll back on any failure."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

STAGING_PREFIX = ".pocketsr-tx-"


# Thin wrappers so tests can simulate a read-only folder even when running as root.
def _mkdtemp(parent: Path) -> Path:
    return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=parent))


def _makedir(path: Path) -> None:
    os.mkdir(path)


def _replace(src: Path, dst: Path) -> None:
    os.replace(src, dst)


class TransactionError(Exception):
    """A change could not be made; everything done so far was undone."""


@dataclass
class _Write:
    """One staged file waiting to be moved into place."""

    dest: Path
    staged: Path


class Transaction:
    """Collects file writes and removals, then applies them together or not at all."""

    def __init__(self) -> None:
        """An empty transaction."""
        self._staging: dict[Path, Path] = {}
        self._writes: list[_Write] = []
        self._removals: list[Path] = []
        self._undo: list[Callable[[], None]] = []
        self.created_dirs: list[Path] = []

    def _stage_dir(self, parent: Path) -> Path:
        """The staging folder inside `parent` (same file system, so moves are atomic)."""
        if parent not in self._staging:
            self._staging[parent] = _mkdtemp(parent)
        return self._staging[parent]

    def ensure_dir(self, path: Path) -> None:
        """Create `path` and missing parents, remembering which ones were new."""
        missing = []
        p = path
        while not p.exists():
            missing.append(p)
            p = p.parent
        for d in reversed(missing):
            _makedir(d)
            self.created_dirs.append(d)
            self._undo.append(lambda d=d: _rmdir_quiet(d))

    def write(self, dest: Path, data: bytes, executable: bool = False) -> None:
        """Stage `data` for `dest` (parents are created now, the file itself on apply)."""
        self.ensure_dir(dest.parent)
        staged = self._stage_dir(dest.parent) / f"{len(self._writes)}-{dest.name}"
        staged.write_bytes(data)
        mode = 0o755 if executable else 0o644
        os.chmod(staged, mode)
        self._writes.append(_Write(dest, staged))

    def remove(self, path: Path) -> None:
        """Remove `path` on apply (kept aside until the transaction finishes)."""
        self._removals.append(path)

    def apply(self) -> None:
        """Move every staged change into place; on failure undo all and raise."""
        try:
            for path in self._removals:
                if path.exists():
                    aside = self._stage_dir(path.parent) / f"removed-{path.name}"
                    _replace(path, aside)
                    self._undo.append(lambda p=path, a=aside: _replace(a, p))
            for w in self._writes:
                if w.dest.exists() or w.dest.is_symlink():
                    aside = w.staged.with_name(w.staged.name + ".old")
                    _replace(w.dest, aside)
                    self._undo.append(lambda d=w.dest, a=aside: _replace(a, d))
                _replace(w.staged, w.dest)
                self._undo.append(lambda d=w.dest: d.unlink())
        except OSError as exc:
            self.rollback()
            raise TransactionError(_describe(exc)) from exc
        self._cleanup()

    def rollback(self) -> None:
        """Undo everything done so far (best effort, newest first)."""
        for undo in reversed(self._undo):
            with contextlib.suppress(OSError):
                undo()
        self._undo.clear()
        self._cleanup()
        for d in reversed(self.created_dirs):
            _rmdir_quiet(d)

    def _cleanup(self) -> None:
        """Delete staging folders (kept-aside files go with them)."""
        for staging in self._staging.values():
            shutil.rmtree(staging, ignore_errors=True)
        self._staging.clear()


def _rmdir_quiet(path: Path) -> None:
    """Remove an empty folder; leave it when it is not empty or gone."""
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _describe(exc: OSError) -> str:
    """One sentence about a file-system failure."""
    where = f" {exc.filename}" if exc.filename else ""
    if isinstance(exc, PermissionError):
        return f"Permission denied writing{where}: the folder is read-only or not yours."
    return f"{exc.strerror or exc}{':' if where else ''}{where}"


def is_executable(path: Path) -> bool:
    """Whether the owner may execute `path`."""
    return bool(path.stat().st_mode & stat.S_IXUSR)


def run_staged(tx: Transaction, stage: Callable[[Transaction], None]) -> None:
    """Stage with `stage(tx)` and apply; any failure while staging also undoes everything."""
    try:
        stage(tx)
    except OSError as exc:
        tx.rollback()
        raise TransactionError(_describe(exc)) from exc
    tx.apply()
