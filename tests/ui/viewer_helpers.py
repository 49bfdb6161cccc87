"""Helpers shared by the viewer tests: test pictures, drops, event-loop probes."""

from __future__ import annotations

import time

import numpy as np
from PIL import ImageCms
from PySide6.QtCore import QMimeData, QObject, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def blocks(width: int, height: int, dtype: type = np.uint8) -> np.ndarray:
    """An RGB test picture of flat coloured blocks and a gradient (exactly kept by test models)."""
    y, x = np.mgrid[0:height, 0:width]
    top = np.iinfo(dtype).max
    pixels = np.zeros((height, width, 3), np.float64)
    pixels[..., 0] = (x // 8 % 2) * 0.8 + 0.1
    pixels[..., 1] = (y // 8 % 2) * 0.6 + 0.2
    pixels[..., 2] = x / max(1, width - 1)
    return np.rint(pixels * top).astype(dtype)


def drop_files(target: QWidget, paths: list) -> bool:
    """Send a drag-enter and a drop of file URLs to a widget; True when the drag was accepted."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(QPoint(20, 20), action, mime, buttons, mods)
    QApplication.sendEvent(target, enter)
    accepted = enter.isAccepted()
    drop = QDropEvent(QPointF(20, 20), action, mime, buttons, mods)
    QApplication.sendEvent(target, drop)
    return accepted


class GapProbe(QObject):
    """A 10 ms QTimer noting the longest gap between its ticks (event-loop latency)."""

    def __init__(self) -> None:
        super().__init__()
        self.max_gap = 0.0
        self.ticks = 0
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(10)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        """Start measuring."""
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        """Stop measuring."""
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_gap = max(self.max_gap, now - self._last)
        self._last = now
        self.ticks += 1


# A real profile (the engine drops blobs that are not ICC profiles); it must travel untouched.
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
