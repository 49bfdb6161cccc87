"""A non-blocking message bar: errors and notes that never stop the viewer."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

HIDE_AFTER_MS = 10_000


class NoticeBar(QFrame):
    """Shows the latest messages above the image; hides itself after a while."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.messages: list[str] = []  # every message shown, oldest first
        self._label = QLabel(self)
        self._label.setWordWrap(True)
        self._label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton(self)
        close.setText("×")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._label, 1)
        layout.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.hide()

    def show_message(self, text: str) -> None:
        """Show a message (the last three stay visible together) without blocking."""
        self.messages.append(text)
        self._label.setText("\n".join(self.messages[-3:]))
        self.show()
        self._timer.start(HIDE_AFTER_MS)

    def text(self) -> str:
        """What the bar shows now."""
        return self._label.text()
