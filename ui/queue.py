"""The batch queue: several images upscaled one after another into an output folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from pocketsr.engine import Progress, UpscalerCache

from .jobs import JobRunner, batch_task
from .settings import PanelOptions


class Status(Enum):
    """Where one queued image stands."""

    PENDING = "Waiting"
    RUNNING = "Running"
    DONE = "Done"
    FAILED = "Error"
    CANCELLED = "Cancelled"


@dataclass
class QueueItem:
    """One image in the queue, its status, and its output or error."""

    source: Path
    status: Status = Status.PENDING
    message: str = ""
    output: Path | None = None
    job: int | None = None


class BatchQueue(QWidget):
    """A table of queued images with Start, Cancel selected, Cancel all and an output folder."""

    itemChanged = Signal(int)  # row
    finished = Signal()  # nothing left to run

    def __init__(
        self,
        cache: UpscalerCache,
        options: Callable[[], PanelOptions],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._cache = cache
        self._options = options
        self.items: list[QueueItem] = []
        self.output_folder = ""
        self._runner = JobRunner(self, "pocketsr-queue")
        self._runner.progressed.connect(self._on_progress)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["Image", "Status"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.folder_label = QLabel(self)
        self.folder_label.setWordWrap(True)
        folder = QPushButton("Output folder…", self)
        folder.clicked.connect(self._choose_folder)
        self.start_button = QPushButton("Start", self)
        self.start_button.clicked.connect(self.start)
        cancel_one = QPushButton("Cancel selected", self)
        cancel_one.clicked.connect(self._cancel_selected)
        cancel_all = QPushButton("Cancel all", self)
        cancel_all.clicked.connect(self.cancel_all)
        clear = QPushButton("Clear finished", self)
        clear.clicked.connect(self.clear_finished)
        buttons = QHBoxLayout()
        for button in (self.start_button, cancel_one, cancel_all, clear):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(folder)
        layout.addWidget(self.folder_label)
        self.set_output_folder("")

    # ------------------------------------------------------------ editing

    def set_output_folder(self, folder: str) -> None:
        """Where results go ('' = next to each source image)."""
        self.output_folder = folder
        self.folder_label.setText(f"Results go to: {folder or 'each image’s own folder'}")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output_folder)
        if folder:
            self.set_output_folder(folder)

    def add(self, paths: list[Path]) -> None:
        """Append images to the queue (they wait for start())."""
        for path in paths:
            self.items.append(QueueItem(Path(path)))
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = QTableWidgetItem(Path(path).name)
            name.setToolTip(str(path))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(""))
            self._show(row)

    def clear_finished(self) -> None:
        """Remove finished, failed and cancelled items."""
        for row in reversed(range(len(self.items))):
            if self.items[row].status not in (Status.PENDING, Status.RUNNING):
                del self.items[row]
                self.table.removeRow(row)

    @property
    def running(self) -> bool:
        """True while an item is being upscaled."""
        return any(item.status is Status.RUNNING for item in self.items)

    # ------------------------------------------------------------ running

    def start(self) -> None:
        """Run the waiting items one after another."""
        if not self.running:
            self._next()

    def _next(self) -> None:
        for row, item in enumerate(self.items):
            if item.status is Status.PENDING:
                folder = Path(self.output_folder) if self.output_folder else item.source.parent
                task = batch_task(self._cache, self._options(), item.source, folder)
                item.status, item.message = Status.RUNNING, ""
                item.job = self._runner.start(task)
                self._show(row)
                return
        self.finished.emit()

    def cancel(self, row: int) -> None:
        """Cancel one item (running or waiting)."""
        item = self.items[row]
        if item.status is Status.RUNNING and item.job is not None:
            self._runner.cancel(item.job)
        elif item.status is Status.PENDING:
            item.status = Status.CANCELLED
            self._show(row)

    def _cancel_selected(self) -> None:
        for index in self.table.selectionModel().selectedRows():
            self.cancel(index.row())

    def cancel_all(self) -> None:
        """Cancel the running item and everything waiting."""
        for row in range(len(self.items)):
            self.cancel(row)

    def shutdown(self) -> None:
        """Stop the worker thread (the window is closing)."""
        self._runner.shutdown()

    def _row_of(self, job: int) -> int | None:
        for row, item in enumerate(self.items):
            if item.job == job and item.status is Status.RUNNING:
                return row
        return None

    def _on_progress(self, job: int, progress: Progress) -> None:
        row = self._row_of(job)
        if row is not None and progress.total:
            self.items[row].message = f"{round(100 * progress.fraction)}%"
            self._show(row)

    def _end(self, job: int, status: Status, message: str, output: Path | None = None) -> None:
        row = self._row_of(job)
        if row is not None:
            item = self.items[row]
            item.status, item.message, item.output = status, message, output
            self._show(row)
        self._next()

    def _on_finished(self, job: int, output: object) -> None:
        path = Path(str(output))
        self._end(job, Status.DONE, f"→ {path.name}", path)

    def _on_failed(self, job: int, message: str) -> None:
        self._end(job, Status.FAILED, message)

    def _on_cancelled(self, job: int) -> None:
        self._end(job, Status.CANCELLED, "")

    def _show(self, row: int) -> None:
        item = self.items[row]
        text = item.status.value + (f": {item.message}" if item.message else "")
        cell = self.table.item(row, 1)
        cell.setText(text)
        cell.setToolTip(text)
        self.table.item(row, 0).setData(Qt.ItemDataRole.UserRole, item.status.value)
        self.itemChanged.emit(row)
