"""`pocketsr-viewer [FILES...]`: start the viewer, opening any files or folders given."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from .main_window import MainWindow
from .settings import APPLICATION, ORGANISATION


def make_app(argv: list[str]) -> QApplication:
    """The QApplication (high-DPI pass-through scaling, the platform's own palette)."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    app = QApplication(argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("PocketSR Upscale")
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the viewer until its window closes; returns the exit status."""
    argv = list(sys.argv if argv is None else argv)
    app = make_app(argv)
    window = MainWindow()
    window.show()
    # Qt removed its own options (-style, -platform ...) from argv when it was created here.
    files = [arg for arg in argv[1:] if not arg.startswith("-")]
    if files:
        window.open_paths(files)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
