"""The viewer's main window: open, compare, upscale (full or region), save, batch queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from pocketsr.engine import PocketSRError, Progress, Rect, UpscalerCache
from pocketsr.engine.imageio import (
    ImageMeta,
    LoadedImage,
    convert_depth,
    format_for,
    read_image,
    to_engine_layout,
    to_file_layout,
    write_image,
)

from .canvas import Canvas, Compare, Tool
from .convert import to_qimage
from .files import OPEN_FILTER, expand_paths, image_from_mime, paths_from_mime
from .jobs import JobRunner, upscale_task, wait_off_thread
from .notice import NoticeBar
from .panel import OptionsPanel
from .queue import BatchQueue
from .settings import Settings

SAVE_FILTERS = {
    "PNG (*.png)": None,
    "PNG 8-bit (*.png)": 8,
    "PNG 16-bit (*.png)": 16,
    "TIFF (*.tif *.tiff)": None,
    "JPEG (*.jpg *.jpeg)": None,
    "WebP (*.webp)": None,
}


class MainWindow(QMainWindow):
    """One image at a time in the canvas; several at once go to the batch queue."""

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.setWindowTitle("PocketSR Upscale")
        self.setAcceptDrops(True)
        self.cache = UpscalerCache()
        self._file_busy = ""  # what file work is running, if any
        self.runner = JobRunner(self)
        self.runner.progressed.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.image: LoadedImage | None = None  # the original, pixels in the engine's layout
        self.result: np.ndarray | None = None  # the last full upscale (engine layout)
        self.save_path: Path | None = None
        self.last_message = ""
        self._job: int | None = None
        self._job_roi: QRect | None = None
        self._job_started = 0.0
        self.preview_roi: QRect | None = None  # the last region previewed, re-rendered live
        self._rerender = QTimer(self)  # gathers a slider drag into few re-renders
        self._rerender.setSingleShot(True)
        self._rerender.setInterval(120)
        self._rerender.timeout.connect(self._rerender_preview)

        self.canvas = Canvas(self)
        self.canvas.roiSelected.connect(self.upscale_region)
        self.canvas.viewChanged.connect(self._show_zoom)
        self.notices = NoticeBar(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notices)
        layout.addWidget(self.canvas, 1)
        self.setCentralWidget(central)

        self.panel = OptionsPanel(self.settings.options(), self)
        self.panel.changed.connect(lambda: self.settings.set_options(self.panel.options()))
        self.panel.strengthChanged.connect(self._rerender.start)
        self.options_dock = self._dock("Upscale options", "options", self.panel)
        self.queue = BatchQueue(self.cache, self.panel.options, self)
        self.queue.set_output_folder(self.settings.output_folder())
        self.queue_dock = self._dock("Batch queue", "queue", self.queue)
        self.queue_dock.hide()

        self.progress = QProgressBar(self)
        self.progress.setMaximumWidth(240)
        self.eta = QLabel(self)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.zoom_label = QLabel(self)
        for widget in (self.progress, self.eta, self.cancel_button):
            self.statusBar().addPermanentWidget(widget)
            widget.hide()
        self.statusBar().addPermanentWidget(self.zoom_label)
        self._make_actions()
        geometry, state = self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1100, 720)
        if state is not None:
            self.restoreState(state)
        self._update_actions()

    def _dock(self, title: str, name: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    # ------------------------------------------------------------ actions and menus

    def _action(self, menu, text: str, slot, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.setCheckable(checkable)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)
        return action

    def _make_actions(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self._action(file, "&Paste", self.paste, QKeySequence.StandardKey.Paste)
        self.copy_action = self._action(
            file, "&Copy Result", self.copy_result, QKeySequence.StandardKey.Copy
        )
        file.addSeparator()
        self.save_action = self._action(file, "&Save", self.save, QKeySequence.StandardKey.Save)
        self.save_as_action = self._action(
            file, "Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs
        )
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        view = bar.addMenu("&View")
        self._action(view, "&Fit", self.canvas.fit, ["Ctrl+0", "F"])
        self._action(view, "&100%", self.canvas.actual_pixels, ["Ctrl+1"])
        self._action(
            view, "Zoom &In", lambda: self.canvas.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn
        )
        self._action(
            view, "Zoom &Out", lambda: self.canvas.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut
        )
        view.addSeparator()
        self._action(
            view, "&Before/after wipe", lambda: self.canvas.set_compare(Compare.SPLIT), "W"
        )
        self._action(view, "&Toggle original", self.canvas.toggle_before_after, "T")
        view.addSeparator()
        view.addAction(self.options_dock.toggleViewAction())
        view.addAction(self.queue_dock.toggleViewAction())
        image = bar.addMenu("&Image")
        self.upscale_action = self._action(
            image, "&Upscale", self.upscale, ["Ctrl+U", "Ctrl+Return"]
        )
        self.roi_action = self._action(image, "&Region preview tool", self._set_tool, "R", True)
        self._action(image, "&Cancel", self.cancel, "Esc")
        tools = self.addToolBar("Main")
        tools.setObjectName("main-toolbar")
        for action in (self.upscale_action, self.roi_action, self.save_action):
            tools.addAction(action)

    def _set_tool(self, checked: bool) -> None:
        self.canvas.tool = Tool.ROI if checked else Tool.PAN

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.settings.recent_files():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _=False, p=path: self.open_paths([p]))
        if self.recent_menu.isEmpty():
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear", self.settings.clear_recent)

    def _update_actions(self) -> None:
        busy = self._job is not None
        self.upscale_action.setEnabled(self.image is not None and not busy)
        self.save_action.setEnabled(self.result is not None)
        self.copy_action.setEnabled(self.result is not None)
        self.save_as_action.setEnabled(self.result is not None)

    def _show_zoom(self) -> None:
        self.zoom_label.setText(f"{self.canvas.physical_zoom() * 100:.0f}%")

    def notify(self, text: str) -> None:
        """A non-blocking message (errors included): the viewer carries on."""
        self.last_message = text
        self.notices.show_message(text)
        self.statusBar().showMessage(text, 8000)

    # ------------------------------------------------------------ opening

    def open_dialog(self) -> None:
        """File → Open: one or several images."""
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open images", self.settings.last_folder(), OPEN_FILTER
        )
        if paths:
            self.settings.set_last_folder(str(Path(paths[0]).parent))
            self.open_paths(paths)

    def open_paths(self, paths: list[str] | list[Path]) -> None:
        """Open files or folders: one image goes to the view, several to the batch queue too."""
        files = expand_paths(paths)
        if not files:
            self.notify("No images found in what was opened.")
            return
        if len(files) > 1 or any(Path(p).is_dir() for p in paths):
            self.queue.add(files)
            self.queue_dock.show()
            self.notify(f"{len(files)} images added to the batch queue.")
        for path in files:  # show the first one that loads
            if self.load_file(path):
                break

    def _file_work(self, verb: str, path: Path, fn: Callable[[], Any]) -> Any:
        """Run a file read/write off the GUI thread (the window stays live); one at a time."""
        if self._file_busy:
            raise OSError(f"still {self._file_busy}; try again in a moment")
        self._file_busy = f"{verb} {path.name}"
        self.statusBar().showMessage(f"{verb.capitalize()} {path.name}…")
        try:
            return wait_off_thread(fn)
        finally:
            self._file_busy = ""
            self.statusBar().clearMessage()

    def load_file(self, path: str | Path) -> bool:
        """Show one image file; a bad file gives a message and changes nothing."""
        path = Path(path)
        try:
            loaded = self._file_work("reading", path, lambda: read_image(path))
        except (PocketSRError, OSError, ValueError) as exc:
            self.notify(f"Cannot open {path.name}: {exc}")
            return False
        self.settings.add_recent(str(Path(path).resolve()))
        self._show_image(LoadedImage(to_engine_layout(loaded.pixels), loaded.meta, loaded.path))
        return True

    def load_pixels(self, pixels: np.ndarray, name: str = "pasted image") -> None:
        """Show pixels that came without a file (paste, dropped image data)."""
        self._show_image(LoadedImage(pixels, ImageMeta(), name))

    def _show_image(self, image: LoadedImage) -> None:
        if self._job is not None:
            self.runner.cancel(self._job)
        self.image, self.result, self.save_path = image, None, None
        self.preview_roi = None
        self.canvas.set_image(to_qimage(image.pixels))
        depth = 16 if image.pixels.dtype == np.uint16 else 8
        name = Path(image.path).name or "image"
        self.setWindowTitle(
            f"{name} ({image.width}×{image.height}, {depth}-bit) — PocketSR Upscale"
        )
        self._update_actions()

    def copy_result(self) -> None:
        """Put the upscaled image on the clipboard (16-bit stays 16-bit, alpha kept)."""
        if self.result is None:
            self.notify("There is no upscaled result to copy yet.")
            return
        QGuiApplication.clipboard().setImage(to_qimage(self.result))
        height, width = self.result.shape[:2]
        self.statusBar().showMessage(f"Copied the {width}×{height} result.", 5000)

    def paste(self) -> None:
        """Paste image files, folders or image data from the clipboard."""
        mime = QGuiApplication.clipboard().mimeData()
        paths = paths_from_mime(mime) if mime is not None else []
        if paths:
            self.open_paths(paths)
            return
        pixels = image_from_mime(mime) if mime is not None else None
        if pixels is None:
            self.notify("The clipboard holds no image.")
        else:
            self.load_pixels(pixels)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept files, folders and image data."""
        mime = event.mimeData()
        if mime.hasUrls() or mime.hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open what was dropped."""
        mime = event.mimeData()
        paths = paths_from_mime(mime)
        event.acceptProposedAction()
        if paths:
            self.open_paths(paths)
        elif (pixels := image_from_mime(mime)) is not None:
            self.load_pixels(pixels, "dropped image")
        else:
            self.notify("Nothing to open in what was dropped.")

    # ------------------------------------------------------------ upscaling

    def upscale(self) -> None:
        """Upscale the whole image; tiles appear as they finish."""
        if self.image is None or self._job is not None:
            return
        self._start(None)

    def upscale_region(self, rect: QRect) -> None:
        """Upscale just a region of the original and show it in place (a quick preview)."""
        if self.image is None:
            return
        if self._job is not None:
            if self._job_roi is None:
                self.notify("An upscale is running; cancel it to preview a region.")
                return
            self.runner.cancel(self._job)
        self.preview_roi = QRect(rect)
        self._start(QRect(rect))

    def _rerender_preview(self) -> None:
        """The strength moved: the region preview again, with the new weights."""
        if self.preview_roi is not None and (self._job is None or self._job_roi is not None):
            self.upscale_region(self.preview_roi)

    def _start(self, roi: QRect | None) -> None:
        assert self.image is not None
        region = None if roi is None else Rect(roi.x(), roi.y(), roi.width(), roi.height())
        options = self.panel.options()
        self.settings.set_options(options)
        self._job_roi = roi
        self._job_started = time.monotonic()
        self._job = self.runner.start(upscale_task(self.cache, options, self.image.pixels, region))
        self.progress.setRange(0, 0)
        for widget in (self.progress, self.eta, self.cancel_button):
            widget.show()
        self.eta.setText("Loading the model…" if roi is None else "Previewing the region…")
        self._update_actions()

    def cancel(self) -> None:
        """Stop the running upscale (within a tile)."""
        if self._job is not None:
            self.runner.cancel(self._job)
            self.eta.setText("Cancelling…")

    @property
    def busy(self) -> bool:
        """True while an upscale of the shown image runs."""
        return self._job is not None

    def _on_progress(self, job: int, progress: Progress) -> None:
        if job != self._job or self.image is None:
            return
        deep = self.image.pixels.dtype != np.uint8
        rect = progress.rect
        if progress.done == 0 and rect is not None:
            if self._job_roi is None:
                self.canvas.begin_result(rect.width, rect.height, deep)
            else:
                self.canvas.begin_preview(self._job_roi, rect.width, rect.height, deep)
            return
        self.progress.setRange(0, progress.total)
        self.progress.setValue(progress.done)
        if progress.eta is not None:
            self.eta.setText(
                f"{progress.done}/{progress.total} tiles, {_duration(progress.eta)} left"
            )
        if rect is not None and progress.pixels is not None:
            self.canvas.paint_tile(
                rect.x, rect.y, progress.pixels, preview=self._job_roi is not None
            )

    def _job_ended(self, job: int) -> bool:
        if job != self._job:
            return False
        self._job = None
        for widget in (self.progress, self.eta, self.cancel_button):
            widget.hide()
        self._update_actions()
        return True

    def _on_finished(self, job: int, result: object) -> None:
        roi = self._job_roi
        if not self._job_ended(job):
            return
        seconds = time.monotonic() - self._job_started
        if roi is None:
            self.result = result  # type: ignore[assignment]
            self._update_actions()
            self.statusBar().showMessage(f"Upscaled in {_duration(seconds)}.", 8000)
        else:
            self.statusBar().showMessage(f"Region previewed in {_duration(seconds)}.", 8000)

    def _on_failed(self, job: int, message: str) -> None:
        roi = self._job_roi
        if self._job_ended(job):
            if roi is None:
                self.canvas.set_result(None)
            else:
                self.canvas.clear_preview()
            self.notify(f"Upscale failed: {message}")

    def _on_cancelled(self, job: int) -> None:
        roi = self._job_roi
        if self._job_ended(job):
            if roi is None:
                self.canvas.set_result(None)
            self.statusBar().showMessage("Cancelled.", 5000)

    # ------------------------------------------------------------ saving

    def save(self) -> bool:
        """Save to the last chosen path, or ask for one."""
        if self.save_path is None:
            return self.save_as()
        return self.save_to(self.save_path, overwrite=True)

    def save_as(self) -> bool:
        """Ask for a path and format, then save the result."""
        if self.result is None or self.image is None:
            return False
        folder = self.settings.last_folder() or str(Path(self.image.path or ".").parent)
        stem = Path(self.image.path).stem or "upscaled"
        suggested = str(Path(folder) / f"{stem}-upscaled.png")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save the upscaled image", suggested, ";;".join(SAVE_FILTERS)
        )
        if not path:
            return False
        self.settings.set_last_folder(str(Path(path).parent))
        # The dialog already asked about overwriting.
        return self.save_to(path, bit_depth=SAVE_FILTERS.get(chosen), overwrite=True)

    def save_to(
        self, path: str | Path, *, bit_depth: int | None = None, overwrite: bool = False
    ) -> bool:
        """Write the result atomically (ICC and EXIF kept); asks before replacing a file."""
        if self.result is None or self.image is None:
            self.notify("Nothing to save yet: upscale the image first.")
            return False
        path = Path(path)
        if path.exists() and not overwrite and not self.confirm_overwrite(path):
            return False
        pixels = to_file_layout(self.result, self.image.meta.mode)
        if bit_depth == 8:
            pixels = convert_depth(pixels, np.uint8)
        elif bit_depth == 16:
            pixels = convert_depth(pixels, np.uint16)
        meta = self.image.meta
        try:
            format_for(path)
            self._file_work(
                "writing", path, lambda: write_image(path, pixels, meta, overwrite=True)
            )
        except (PocketSRError, OSError, ValueError) as exc:
            self.notify(f"Cannot save {path.name}: {exc}")
            return False
        self.save_path = path
        self.statusBar().showMessage(f"Saved {path}", 8000)
        return True

    def confirm_overwrite(self, path: Path) -> bool:
        """Ask whether an existing file may be replaced."""
        answer = QMessageBox.question(
            self, "Replace file?", f"{path.name} already exists. Replace it?"
        )
        return answer == QMessageBox.StandardButton.Yes

    # ------------------------------------------------------------ closing

    def closeEvent(self, event: QCloseEvent) -> None:
        """Remember settings and window state; stop the worker threads."""
        self.settings.set_options(self.panel.options())
        self.settings.set_output_folder(self.queue.output_folder)
        self.settings.set_window_state(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.runner.shutdown()
        self.queue.shutdown()
        super().closeEvent(event)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s"
