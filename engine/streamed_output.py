"""A disk-backed output for results too big for memory, written to its file atomically."""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tifffile

from .atomic_write import PendingFile
from .disk_space import disk_full_as_sentence, reserve
from .exif import tiff_text_tags
from .image_formats import ImageMeta, file_dtype, format_for
from .image_write import page_releaser, write_pixels
from .types import CancelToken


class StreamedOutput:
    """A disk-backed output array for results too big for memory, committed atomically.

    Use as a context manager: fill `.array` (a np.memmap, e.g. as the engine's `out=`), call
    `release()` now and then to keep the resident set small, then `commit()`. Leaving the block
    without commit (error, cancel) removes every temporary file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        shape: tuple[int, ...],
        dtype: np.dtype | type,
        meta: ImageMeta | None = None,
        *,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.format = format_for(self.path)
        self.meta = meta or ImageMeta()
        dtype = np.dtype(dtype)
        self._pending = PendingFile(self.path, overwrite)
        self._raw: Path | None = None
        self._done = False
        try:
            nbytes = int(np.prod(shape)) * dtype.itemsize
            if self.format == "TIFF" and dtype == file_dtype("TIFF", dtype):
                # The engine writes straight into the final file's pixel data: no second pass.
                reserve(self._pending.tmp, nbytes)
                self.array: np.memmap = self._tiff_memmap(tuple(shape), dtype)
                reserve(self._pending.tmp, os.path.getsize(self._pending.tmp))
            else:
                self._raw = self._pending.sibling(".raw")
                reserve(self._raw, nbytes)
                self.array = np.memmap(self._raw, dtype=dtype, mode="r+", shape=tuple(shape))
        except BaseException:
            self.abort()
            raise
        self.release: Callable[[], None] = page_releaser(self.array)
        self.array_bytes = nbytes

    def _tiff_memmap(self, shape: tuple[int, ...], dtype: np.dtype) -> np.memmap:
        channels = 1 if len(shape) == 2 else shape[2]
        return tifffile.memmap(
            self._pending.tmp,
            shape=shape,
            dtype=dtype,
            photometric="minisblack" if channels <= 2 else "rgb",
            extrasamples=("unassalpha",) if channels in (2, 4) else None,
            iccprofile=self.meta.icc,
            extratags=tiff_text_tags(self.meta.exif),
            software="PocketSR",
            bigtiff=int(np.prod(shape)) * dtype.itemsize > 2**31,
        )

    def commit(self, cancel: CancelToken | None = None) -> Path:
        """Write the final file (unless the array already is it) and move it into place."""
        with disk_full_as_sentence(self.path.parent, self.array_bytes):
            self._commit(cancel)
        return self.path

    def _commit(self, cancel: CancelToken | None) -> None:
        try:
            self.array.flush()
            if self._raw is not None:
                write_pixels(
                    self._pending.tmp,
                    self.array,
                    self.format,
                    self.meta,
                    quality=95,
                    cancel=cancel,
                    fast=True,
                )
            self._close_array()
            self._pending.commit()
        except BaseException:
            self.abort()
            raise
        self._remove_raw()
        self._done = True

    def abort(self) -> None:
        """Drop everything written so far; the target path is untouched."""
        self._close_array()
        self._remove_raw()
        self._pending.abort()
        self._done = True

    def _close_array(self) -> None:
        array = getattr(self, "array", None)
        self.array = None  # type: ignore[assignment]
        handle = getattr(array, "_mmap", None)
        del array
        if isinstance(handle, mmap.mmap):
            # Views handed out (e.g. in progress reports) may still pin the buffer.
            with contextlib.suppress(BufferError, ValueError):
                handle.close()

    def _remove_raw(self) -> None:
        if self._raw is not None:
            with contextlib.suppress(OSError):
                self._raw.unlink()

    def __enter__(self) -> StreamedOutput:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()
