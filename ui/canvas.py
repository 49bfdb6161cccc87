"""The image view: zoom at the cursor, pan, fit/100%, pixel grid, before/after wipe, ROI drag."""

from __future__ import annotations

import math
from enum import Enum

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM = 1 / 64
MAX_ZOOM = 64.0
GRID_ZOOM = 8.0  # physical pixels per image pixel from which the pixel grid is drawn
SPLIT_GRAB = 6  # how close (in px) to the split line a press grabs it
KEY_ZOOM_STEP = 1.25
KEY_PAN_STEP = 48


class Compare(Enum):
    """What the canvas shows: the wipe between both, only the original, or only the result."""

    SPLIT = "split"
    BEFORE = "before"
    AFTER = "after"


class Tool(Enum):
    """What a plain left drag does: move the view or select a region to preview."""

    PAN = "pan"
    ROI = "roi"


class _Drag(Enum):
    NONE = 0
    PAN = 1
    SPLIT = 2
    ROI = 3


class Canvas(QWidget):
    """Shows the original and the upscaled result in the same place, at the same zoom."""

    viewChanged = Signal()  # zoom or position changed
    splitChanged = Signal(float)  # the wipe position, 0..1 of the width
    roiSelected = Signal(QRect)  # a region of the original, in its pixels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._preview: tuple[QRect, QImage] | None = None
        self._zoom = 1.0  # logical widget pixels per image pixel
        self._offset = QPointF(0, 0)  # widget position of the image's top-left corner
        self._fitted = True  # refit on resize until the user zooms or pans
        self.compare = Compare.SPLIT
        self._toggled_from = Compare.SPLIT
        self._split = 0.5
        self.tool = Tool.PAN
        self._drag = _Drag.NONE
        self._press = QPointF()
        self._press_offset = QPointF()
        self._roi_drag: QRect | None = None
        self.roi: QRect | None = None  # the last selected region (image pixels)

    # ------------------------------------------------------------ content

    def sizeHint(self) -> QSize:
        """A comfortable starting size."""
        return QSize(800, 600)

    @property
    def image_size(self) -> QSize:
        """The original's size in pixels (empty when nothing is shown)."""
        return self._before.size() if self._before is not None else QSize()

    def set_image(self, image: QImage | None, *, keep_view: bool = False) -> None:
        """Show a new original; clears the result, the preview and the ROI."""
        self._before = image
        self._after = None
        self._preview = None
        self.roi = None
        if not keep_view:
            self.fit()
        self.update()

    def has_result(self) -> bool:
        """True when a full (possibly partial) result or an ROI preview is shown."""
        return self._after is not None or self._preview is not None

    def begin_result(self, width: int, height: int, deep: bool) -> None:
        """Start an empty (transparent) result of the output size that tiles are painted into."""
        self._after = _blank(width, height, deep)
        self._preview = None
        self.update()

    def begin_preview(self, rect: QRect, width: int, height: int, deep: bool) -> None:
        """Start an empty ROI preview over `rect` of the original, width×height output pixels."""
        self._preview = (QRect(rect), _blank(width, height, deep))
        self.update()

    def paint_tile(self, x: int, y: int, tile: QImage, *, preview: bool = False) -> None:
        """Paint a finished tile (output pixels at x, y) into the result or preview; show it."""
        target = self._preview[1] if preview and self._preview else self._after
        if target is None:
            return
        with _Painter(target) as painter:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
            painter.drawImage(QPoint(x, y), tile)
        if preview:
            self.update()
        else:
            self.update(self._widget_rect_of_output(QRectF(x, y, tile.width(), tile.height())))

    def set_result(self, image: QImage | None) -> None:
        """Show a finished result (or clear it with None)."""
        self._after = image
        self.update()

    def result_image(self) -> QImage | None:
        """The result being shown, if any."""
        return self._after

    def set_preview(self, rect: QRect, image: QImage) -> None:
        """Show the upscaled ROI in place over the original's region `rect`."""
        self._preview = (QRect(rect), image)
        self.update()

    def clear_preview(self) -> None:
        """Remove the ROI preview."""
        self._preview = None
        self.update()

    # ------------------------------------------------------------ view state

    @property
    def zoom(self) -> float:
        """Logical widget pixels per image pixel."""
        return self._zoom

    @property
    def offset(self) -> QPointF:
        """Widget position of the image's top-left corner."""
        return QPointF(self._offset)

    @property
    def split(self) -> float:
        """The wipe position as a fraction of the widget's width."""
        return self._split

    def physical_zoom(self) -> float:
        """Screen (device) pixels per image pixel: 1.0 is 100%."""
        return self._zoom * self.devicePixelRatioF()

    def set_split(self, fraction: float) -> None:
        """Move the wipe (0 = all result, 1 = all original)."""
        fraction = min(1.0, max(0.0, fraction))
        if fraction != self._split:
            self._split = fraction
            self.splitChanged.emit(fraction)
            self.update()

    def set_compare(self, mode: Compare) -> None:
        """Show the wipe, only the original or only the result."""
        self.compare = mode
        self.update()

    def toggle_before_after(self) -> None:
        """Flip between the original and the current view (the toggle key)."""
        if self.compare is Compare.BEFORE:
            self.compare = self._toggled_from
        else:
            self._toggled_from = self.compare
            self.compare = Compare.BEFORE
        self.update()

    def fit(self) -> None:
        """Zoom so the whole image fits, centred."""
        self._fitted = True
        if self._before is None or self.width() <= 0 or self.height() <= 0:
            return
        w, h = self._before.width(), self._before.height()
        self._zoom = _clamp_zoom(min(self.width() / w, self.height() / h))
        self._offset = QPointF(
            (self.width() - w * self._zoom) / 2, (self.height() - h * self._zoom) / 2
        )
        self._changed()

    def actual_pixels(self) -> None:
        """100%: one image pixel per screen pixel, keeping the centre of the view."""
        self.zoom_at(self._center(), 1.0 / self.devicePixelRatioF())

    def zoom_by(self, factor: float, at: QPointF | None = None) -> None:
        """Multiply the zoom, keeping the image point under `at` (default: centre) fixed."""
        self.zoom_at(at if at is not None else self._center(), self._zoom * factor)

    def zoom_at(self, point: QPointF, zoom: float) -> None:
        """Set the zoom, keeping the image point under a widget point fixed."""
        zoom = _clamp_zoom(zoom)
        image_point = self.to_image(point)
        self._zoom = zoom
        self._offset = point - image_point * zoom
        self._fitted = False
        self._changed()

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the view by widget pixels."""
        self._offset += QPointF(dx, dy)
        self._fitted = False
        self._changed()

    def to_image(self, point: QPointF) -> QPointF:
        """Widget point -> image coordinates (of the original)."""
        return (QPointF(point) - self._offset) / self._zoom

    def to_widget(self, point: QPointF) -> QPointF:
        """Image coordinates (of the original) -> widget point."""
        return QPointF(point) * self._zoom + self._offset

    def _center(self) -> QPointF:
        return QPointF(self.width() / 2, self.height() / 2)

    def _changed(self) -> None:
        self.viewChanged.emit()
        self.update()

    def _widget_rect_of_output(self, rect: QRectF) -> QRect:
        """Widget rectangle covering an output-pixel rectangle of the result."""
        if self._after is None or self._before is None:
            return self.rect()
        sx = self._before.width() / self._after.width()
        sy = self._before.height() / self._after.height()
        top_left = self.to_widget(QPointF(rect.x() * sx, rect.y() * sy))
        size = QPointF(rect.width() * sx, rect.height() * sy) * self._zoom
        return QRectF(top_left, top_left + size).toAlignedRect().adjusted(-1, -1, 1, 1)

    # ------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        """Original, result clipped at the wipe, ROI preview, grid, handles."""
        with _Painter(self) as painter:
            painter.setClipRect(event.rect())
            palette = self.palette()
            painter.fillRect(event.rect(), palette.color(QPalette.ColorRole.Window).darker(110))
            if self._before is None:
                painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
                painter.drawText(
                    self.rect(),
                    Qt.AlignmentFlag.AlignCenter,
                    "Drop images or folders here, paste, or use File → Open",
                )
                return
            smooth = self.physical_zoom() < 2.0
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
            bounds = QRectF(0, 0, self._before.width(), self._before.height())
            painter.save()
            painter.translate(self._offset)
            painter.scale(self._zoom, self._zoom)
            painter.drawImage(bounds, self._before)
            painter.restore()
            if self.compare is not Compare.BEFORE and self.has_result():
                painter.save()
                if self.compare is Compare.SPLIT:
                    x = round(self._split * self.width())
                    painter.setClipRect(
                        QRect(x, 0, self.width() - x, self.height()), Qt.ClipOperation.IntersectClip
                    )
                painter.translate(self._offset)
                painter.scale(self._zoom, self._zoom)
                if self._after is not None:
                    painter.drawImage(bounds, self._after)
                if self._preview is not None:
                    rect, image = self._preview
                    painter.drawImage(QRectF(rect), image)
                painter.restore()
            if self.physical_zoom() >= GRID_ZOOM:
                self._paint_grid(painter, event.rect())
            self._paint_overlays(painter)

    def _paint_grid(self, painter: QPainter, area: QRect) -> None:
        assert self._before is not None
        colour = self.palette().color(QPalette.ColorRole.Mid)
        colour.setAlpha(110)
        painter.setPen(QPen(colour, 0))
        top_left = self.to_image(QPointF(area.topLeft()))
        bottom_right = self.to_image(QPointF(area.bottomRight()))
        x0 = max(0, math.floor(top_left.x()))
        x1 = min(self._before.width(), math.ceil(bottom_right.x()))
        y0 = max(0, math.floor(top_left.y()))
        y1 = min(self._before.height(), math.ceil(bottom_right.y()))
        top, bottom = self.to_widget(QPointF(0, y0)).y(), self.to_widget(QPointF(0, y1)).y()
        left, right = self.to_widget(QPointF(x0, 0)).x(), self.to_widget(QPointF(x1, 0)).x()
        for x in range(x0, x1 + 1):
            wx = self.to_widget(QPointF(x, 0)).x()
            painter.drawLine(QPointF(wx, top), QPointF(wx, bottom))
        for y in range(y0, y1 + 1):
            wy = self.to_widget(QPointF(0, y)).y()
            painter.drawLine(QPointF(left, wy), QPointF(right, wy))

    def _paint_overlays(self, painter: QPainter) -> None:
        palette = self.palette()
        highlight = palette.color(QPalette.ColorRole.Highlight)
        if self.compare is Compare.SPLIT and self.has_result():
            x = round(self._split * self.width())
            painter.setPen(QPen(highlight, 2))
            painter.drawLine(x, 0, x, self.height())
            painter.setBrush(highlight)
            painter.drawEllipse(QPointF(x, self.height() / 2), 7, 7)
            self._label(painter, "Original", QPointF(8, 20), x > 90)
            self._label(painter, "Upscaled", QPointF(x + 8, 20), x < self.width() - 90)
        for rect, dashed in ((self._roi_drag, True), (self.roi, False)):
            if rect is None:
                continue
            top_left = self.to_widget(QPointF(rect.topLeft()))
            size = QPointF(rect.width(), rect.height()) * self._zoom
            pen = QPen(highlight, 1.5, Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(top_left, top_left + size))

    def _label(self, painter: QPainter, text: str, at: QPointF, show: bool) -> None:
        if not show:
            return
        palette = self.palette()
        metrics = painter.fontMetrics()
        box = QRectF(
            at.x() - 4,
            at.y() - metrics.ascent() - 2,
            metrics.horizontalAdvance(text) + 8,
            metrics.height() + 4,
        )
        back = QColor(palette.color(QPalette.ColorRole.ToolTipBase))
        back.setAlpha(200)
        painter.fillRect(box, back)
        painter.setPen(palette.color(QPalette.ColorRole.ToolTipText))
        painter.drawText(at, text)

    # ------------------------------------------------------------ input

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep a fitted image fitted."""
        super().resizeEvent(event)
        if self._fitted:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        """Smooth zoom at the cursor."""
        steps = event.angleDelta().y() or event.pixelDelta().y()
        if steps and self._before is not None:
            self.zoom_by(1.0015**steps, event.position())
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        """Start dragging the wipe, a region, or the view."""
        if self._before is None:
            return
        pos = event.position()
        self._press, self._press_offset = pos, QPointF(self._offset)
        split_x = self._split * self.width()
        if event.button() == Qt.MouseButton.LeftButton:
            near_split = abs(pos.x() - split_x) <= SPLIT_GRAB
            if self.compare is Compare.SPLIT and self.has_result() and near_split:
                self._drag = _Drag.SPLIT
            elif self.tool is Tool.ROI or event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                self._drag = _Drag.ROI
                self._roi_drag = self._image_rect(pos, pos)
            else:
                self._drag = _Drag.PAN
        elif event.button() == Qt.MouseButton.MiddleButton:
            self._drag = _Drag.PAN
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        """Follow the current drag; show a split cursor over the wipe."""
        pos = event.position()
        if self._drag is _Drag.PAN:
            self._offset = self._press_offset + (pos - self._press)
            self._fitted = False
            self._changed()
        elif self._drag is _Drag.SPLIT:
            self.set_split(pos.x() / max(1, self.width()))
        elif self._drag is _Drag.ROI:
            self._roi_drag = self._image_rect(self._press, pos)
            self.update()
        elif self.compare is Compare.SPLIT and self.has_result():
            near = abs(pos.x() - self._split * self.width()) <= SPLIT_GRAB
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """Finish a drag; a region of at least 4×4 pixels is announced by roiSelected."""
        if self._drag is _Drag.ROI:
            rect = self._image_rect(self._press, event.position())
            self._roi_drag = None
            if rect.width() >= 4 and rect.height() >= 4:
                self.roi = rect
                self.roiSelected.emit(QRect(rect))
            self.update()
        self._drag = _Drag.NONE

    def _image_rect(self, a: QPointF, b: QPointF) -> QRect:
        """The image-pixel rectangle between two widget points, clipped to the image."""
        assert self._before is not None
        p, q = self.to_image(a), self.to_image(b)
        x0, x1 = sorted((p.x(), q.x()))
        y0, y1 = sorted((p.y(), q.y()))
        x0, y0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        x1 = min(self._before.width(), math.ceil(x1))
        y1 = min(self._before.height(), math.ceil(y1))
        return QRect(x0, y0, max(0, x1 - x0), max(0, y1 - y0))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Arrows pan, +/- zoom, 0 fits, 1 is 100%, Space toggles before/after."""
        key = event.key()
        moves = {
            Qt.Key.Key_Left: (KEY_PAN_STEP, 0),
            Qt.Key.Key_Right: (-KEY_PAN_STEP, 0),
            Qt.Key.Key_Up: (0, KEY_PAN_STEP),
            Qt.Key.Key_Down: (0, -KEY_PAN_STEP),
        }
        if key in moves:
            self.pan_by(*moves[key])
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / KEY_ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key == Qt.Key.Key_1:
            self.actual_pixels()
        elif key == Qt.Key.Key_Space:
            self.toggle_before_after()
        else:
            super().keyPressEvent(event)


def _blank(width: int, height: int, deep: bool) -> QImage:
    """A transparent image to paint tiles into (16-bit per sample when deep)."""
    fmt = (
        QImage.Format.Format_RGBA64_Premultiplied
        if deep
        else QImage.Format.Format_ARGB32_Premultiplied
    )
    image = QImage(width, height, fmt)
    image.fill(Qt.GlobalColor.transparent)
    return image


def _clamp_zoom(zoom: float) -> float:
    return min(MAX_ZOOM, max(MIN_ZOOM, zoom))


class _Painter(QPainter):
    """A QPainter usable as a context manager (always ended, even on errors)."""

    def __enter__(self) -> _Painter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()
