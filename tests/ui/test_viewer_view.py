"""The canvas: zoom at the cursor, pan, fit/100%, the wipe and the toggle, ROI drag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from viewer_helpers import drop_files

from pocketsr.ui.canvas import Compare, Tool
from pocketsr.ui.convert import from_qimage


def _wheel(widget, at: QPointF, steps: int) -> None:
    event = QWheelEvent(
        at,
        widget.mapToGlobal(at),
        QPoint(0, 0),
        QPoint(0, steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_zoom_at_cursor_keeps_the_point_under_it(window, image_file: Path) -> None:
    drop_files(window, [image_file])
    canvas = window.canvas
    fitted = canvas.zoom
    assert canvas.zoom == pytest.approx(min(canvas.width() / 64, canvas.height() / 48))
    cursor = QPointF(canvas.width() * 0.3, canvas.height() * 0.6)
    under = canvas.to_image(cursor)
    _wheel(canvas, cursor, 240)
    assert canvas.zoom > fitted * 1.3
    after = canvas.to_image(cursor)
    assert (after.x(), after.y()) == pytest.approx((under.x(), under.y()), abs=1e-6)
    _wheel(canvas, cursor, -480)
    assert canvas.zoom < fitted


def test_pan_fit_and_100_percent(qtbot, window, image_file: Path) -> None:
    drop_files(window, [image_file])
    canvas = window.canvas
    start = canvas.offset
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(130, 80))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(130, 80))
    moved = canvas.offset - start
    assert (moved.x(), moved.y()) == pytest.approx((30, -20))
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    assert canvas.offset.x() == pytest.approx(start.x() + 30 + 48)
    canvas.actual_pixels()
    assert canvas.physical_zoom() == pytest.approx(1.0)
    canvas.fit()
    assert canvas.zoom == pytest.approx(min(canvas.width() / 64, canvas.height() / 48))


def test_pixel_grid_drawn_at_high_zoom(window, image_file: Path) -> None:
    drop_files(window, [image_file])
    canvas = window.canvas
    canvas.zoom_at(QPointF(0, 0), 16.0)
    canvas.pan_by(-canvas.offset.x(), -canvas.offset.y())  # image corner at the widget corner
    shot = from_qimage(canvas.grab().toImage())
    inside = shot[3:12, 3:12]  # well inside the first image pixel (16 screen pixels)
    assert (inside == inside[0, 0]).all()
    assert not np.array_equal(shot[8, 16], shot[8, 8])  # a grid line at x = 16


def _upscale(qtbot, window) -> None:
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.upscale()


def test_compare_wipe_and_toggle_share_zoom_and_position(qtbot, window, image_file: Path) -> None:
    drop_files(window, [image_file])
    _upscale(qtbot, window)
    canvas = window.canvas
    canvas.zoom_at(QPointF(200, 150), canvas.zoom * 1.7)
    canvas.set_compare(Compare.BEFORE)
    before = from_qimage(canvas.grab().toImage()).astype(int)
    canvas.set_compare(Compare.AFTER)
    after = from_qimage(canvas.grab().toImage()).astype(int)
    # Flat blocks are kept by the test model: the same picture in the same place.
    assert np.median(np.abs(before - after)) <= 2
    canvas.set_compare(Compare.SPLIT)
    zoom, offset = canvas.zoom, canvas.offset
    x = round(canvas.split * canvas.width())
    y = canvas.height() // 2 - 40
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    qtbot.mouseMove(canvas, QPoint(canvas.width() // 4, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(canvas.width() // 4, y))
    assert canvas.split == pytest.approx(0.25, abs=0.01)
    assert (canvas.zoom, canvas.offset) == (zoom, offset)  # the wipe drag leaves the view alone
    canvas.toggle_before_after()
    assert canvas.compare is Compare.BEFORE
    canvas.toggle_before_after()
    assert canvas.compare is Compare.SPLIT


def test_roi_drag_previews_the_region_in_place(qtbot, window, image_file: Path) -> None:
    drop_files(window, [image_file])
    canvas = window.canvas
    canvas.tool = Tool.ROI
    a = canvas.to_widget(QPointF(8, 8)).toPoint()
    b = canvas.to_widget(QPointF(40, 32)).toPoint()
    with qtbot.waitSignal(window.runner.finished, timeout=20_000) as done:
        qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(canvas, b)
        qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)
    roi = canvas.roi
    assert roi is not None
    assert abs(roi.x() - 8) <= 1 and abs(roi.right() + 1 - 40) <= 1
    result = done.args[1]
    assert result.shape[:2] == (roi.height() * 4, roi.width() * 4)
    assert canvas.has_result() and window.result is None  # a preview, not a full result
    rect, image = canvas._preview
    assert rect == roi and image.width() == roi.width() * 4
