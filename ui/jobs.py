"""Runs engine work on a worker thread; results, progress and tiles come back as Qt signals."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, QThread, Signal, Slot

from pocketsr.engine import (
    Cancelled,
    CancelToken,
    PocketSRError,
    Progress,
    Rect,
    Size,
    Upscaler,
    UpscalerCache,
)
from pocketsr.engine.imageio import (
    is_image_path,
    read_image,
    to_engine_layout,
    to_file_layout,
    write_image,
)
from pocketsr.engine.plan import upscale_arguments

from .convert import to_qimage
from .settings import PanelOptions

WORKER_NICE = 5  # how much lower the worker thread's scheduling priority is (Linux)

# A task runs on the worker thread: it gets a progress callback and the job's cancel token.
Task = Callable[[Callable[[Progress], None], CancelToken], Any]


def engine_threads() -> int:
    """ONNX Runtime threads for viewer jobs: leave one core to the interface."""
    return max(1, (os.cpu_count() or 2) - 1)


class _Worker(QObject):
    """Lives on the worker thread and runs one task at a time."""

    progressed = Signal(int, object)
    finished = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)

    _niced = False

    def _lower_priority(self) -> None:
        """Let the interface thread win the CPU over engine work (Linux: per-thread nice)."""
        if self._niced:
            return
        self._niced = True
        with contextlib.suppress(AttributeError, OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), WORKER_NICE)

    @Slot(int, object, object)
    def run(self, job: int, task: Task, cancel: CancelToken) -> None:
        self._lower_priority()

        def report(progress: Progress) -> None:
            pixels = progress.pixels
            copy = np.array(pixels, copy=True) if isinstance(pixels, np.ndarray) else pixels
            self.progressed.emit(job, progress.with_pixels(copy))

        try:
            if cancel.cancelled:
                raise Cancelled("cancelled before it started")
            result = task(report, cancel)
        except Cancelled:
            self.cancelled.emit(job)
        except PocketSRError as exc:
            self.failed.emit(job, str(exc))
        except MemoryError:
            self.failed.emit(job, "Out of memory: try a smaller tile, scale or region.")
        except Exception as exc:  # the viewer must survive any engine or file surprise
            self.failed.emit(job, f"{type(exc).__name__}: {exc}")
        else:
            self.finished.emit(job, result)


class JobRunner(QObject):
    """One worker thread running tasks in order; signals carry the job number they belong to."""

    progressed = Signal(int, object)  # job, Progress (pixels copied)
    finished = Signal(int, object)  # job, the task's return value
    failed = Signal(int, str)  # job, a sentence for the user
    cancelled = Signal(int)  # job
    _submit = Signal(int, object, object)

    def __init__(self, parent: QObject | None = None, name: str = "pocketsr-jobs") -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.progressed.connect(self.progressed)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._thread.start()
        self._next = 0
        self._tokens: dict[int, CancelToken] = {}

    @property
    def busy(self) -> bool:
        """True while a submitted job has not finished, failed or been cancelled."""
        return bool(self._tokens)

    def start(self, task: Task) -> int:
        """Queue a task on the worker thread; returns its job number."""
        self._next += 1
        token = CancelToken()
        self._tokens[self._next] = token
        self._submit.emit(self._next, task, token)
        return self._next

    def cancel(self, job: int | None = None) -> None:
        """Cancel one job, or every pending job when job is None."""
        for number, token in list(self._tokens.items()):
            if job is None or number == job:
                token.cancel()

    def shutdown(self) -> None:
        """Cancel everything and stop the worker thread (waits for the current tile)."""
        self.cancel()
        self._thread.quit()
        self._thread.wait()

    def _on_finished(self, job: int, result: object) -> None:
        self._tokens.pop(job, None)
        self.finished.emit(job, result)

    def _on_failed(self, job: int, message: str) -> None:
        self._tokens.pop(job, None)
        self.failed.emit(job, message)

    def _on_cancelled(self, job: int) -> None:
        self._tokens.pop(job, None)
        self.cancelled.emit(job)


class _Done(QObject):
    """Carries 'the background call ended' from its thread to the GUI thread's event loop."""

    ended = Signal()


def wait_off_thread(fn: Callable[[], Any]) -> Any:
    """Run fn on a short-lived thread while the GUI thread keeps processing its events.

    For file reads and writes: the caller gets fn's result (or exception) as if it had called
    fn itself, but the window keeps repainting and answering meanwhile.
    """
    loop = QEventLoop()
    done = _Done()
    done.ended.connect(loop.quit)  # queued: emitted from the helper thread
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc
        finally:
            done.ended.emit()

    thread = threading.Thread(target=target, name="pocketsr-file", daemon=True)
    thread.start()
    if thread.is_alive():
        loop.exec()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")


# ------------------------------------------------------------------ the viewer's tasks


def engine_arguments(
    upscaler: Upscaler, options: PanelOptions, pixels: np.ndarray, roi: Rect | None = None
) -> dict[str, Any]:
    """Upscaler.upscale keyword arguments for the panel's options (the engine's own rules)."""
    size = Size(pixels.shape[1], pixels.shape[0])
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    kwargs = upscale_arguments(upscaler.info, size, options.engine_options(), roi, channels)
    if not upscaler.info.has_strength:
        kwargs.pop("strength", None)  # the slider is hidden for such a model
    return kwargs


def output_size(upscaler: Upscaler, width: int, height: int, kwargs: dict[str, Any]) -> Size:
    """The size the engine will produce for a width×height input and these options."""
    # The engine's own rule, so the progressive canvas matches the result exactly.
    return upscaler.output_size(
        Size(width, height), scale=kwargs.get("scale"), size=kwargs.get("size")
    )


def upscale_task(
    cache: UpscalerCache, options: PanelOptions, pixels: np.ndarray, roi: Rect | None = None
) -> Task:
    """A task upscaling pixels (or their ROI); it first reports done=0 with the output rect."""

    def run(report: Callable[[Progress], None], cancel: CancelToken) -> np.ndarray:
        upscaler = cache.get(options.model, options.device, engine_threads())
        kwargs = engine_arguments(upscaler, options, pixels, roi)
        kwargs.pop("roi", None)
        region = roi or Rect(0, 0, pixels.shape[1], pixels.shape[0])
        size = output_size(upscaler, region.width, region.height, kwargs)
        report(Progress(0, 0, 0.0, None, Rect.of_size(size)))

        def tile_done(progress: Progress) -> None:
            # Converted here, on the worker thread, so the interface only paints.
            report(progress.with_pixels(to_qimage(progress.pixels)))

        return upscaler.upscale(pixels, roi=roi, progress=tile_done, cancel=cancel, **kwargs)

    return run


def batch_task(cache: UpscalerCache, options: PanelOptions, source: Path, folder: Path) -> Task:
    """A task reading a file, upscaling it, writing the result into a folder; returns its path."""

    def run(report: Callable[[Progress], None], cancel: CancelToken) -> Path:
        loaded = read_image(source)
        upscaler = cache.get(options.model, options.device, engine_threads())
        pixels = to_engine_layout(loaded.pixels)
        kwargs = engine_arguments(upscaler, options, pixels)
        result = upscaler.upscale(pixels, progress=report, cancel=cancel, **kwargs)
        result = to_file_layout(result, loaded.meta.mode)
        target = unique_output_path(folder, source)
        return write_image(target, result, loaded.meta, cancel=cancel)

    return run


def unique_output_path(folder: Path, source: Path) -> Path:
    """folder/<stem>-upscaled<ext>, numbered so nothing existing is overwritten."""
    ext = source.suffix.lower() if is_image_path(source) else ".png"
    candidate = folder / f"{source.stem}-upscaled{ext}"
    number = 2
    while candidate.exists():
        candidate = folder / f"{source.stem}-upscaled-{number}{ext}"
        number += 1
    return candidate
