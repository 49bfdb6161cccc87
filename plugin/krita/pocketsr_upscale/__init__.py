"""PocketSR Upscale for Krita: an Extension adding the action `pocketsr_upscale`.

The action sits in the Filter menu; scripts call `pocketsr_upscale.api.upscale` directly.
Outside Krita (tests, docs) importing this package registers nothing.
"""

from __future__ import annotations

from typing import Any

ACTION_ID = "pocketsr_upscale"
ACTION_TEXT = "PocketSR Upscale…"
MENU_LOCATION = "filter"

try:
    from krita import Extension, Krita
except ImportError:  # not inside Krita
    Extension = Krita = None


def _engine_info() -> dict | None:
    """The engine's models and devices, asked off the GUI thread (None when it fails)."""
    from . import runner
    from .qt_compat import process_events

    try:
        return runner.run_in_thread(lambda: runner.engine().info(), process_events)
    except Exception:
        return None


def show_error(title: str, message: str, log_lines: list[str], parent: Any = None) -> None:
    """A message box with the reason and, under Details, the worker log's last lines."""
    from .qt_compat import QtWidgets, exec_dialog

    box = QtWidgets.QMessageBox(parent)
    box.setIcon(QtWidgets.QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    if log_lines:
        box.setDetailedText("Last lines of the PocketSR engine log:\n" + "\n".join(log_lines))
    exec_dialog(box)


def run_action() -> None:
    """The action: ask with the dialog, remember the answers, upscale, report errors."""
    from . import api, dialog
    from .qt_compat import exec_dialog

    krita = Krita.instance()
    document = krita.activeDocument()
    window = krita.activeWindow()
    parent = window.qwindow() if window is not None else None
    if document is None:
        show_error("PocketSR Upscale", "Open an image first.", [], parent)
        return
    info = _engine_info()

    def previewer(arguments: dict) -> object:
        return api.preview(document, **arguments)

    box = dialog.UpscaleDialog(
        document,
        dialog.read_settings(krita),
        info,
        parent,
        previewer=previewer if info is not None else None,
    )
    if not exec_dialog(box):
        return
    values = box.values()
    dialog.write_settings(krita, values)
    try:
        api.upscale(document, show_progress=True, **dialog.upscale_arguments(values))
    except api.Cancelled:
        return
    except api.UpscaleError as exc:
        show_error("PocketSR Upscale failed", str(exc), exc.log_lines, parent)


if Extension is not None:

    class PocketSRExtension(Extension):
        """Registers the PocketSR Upscale action in every Krita window."""

        def __init__(self, parent: Any) -> None:
            super().__init__(parent)

        def setup(self) -> None:
            """Nothing to prepare: the engine starts on first use."""

        def createActions(self, window: Any) -> None:
            """Add the action to the Filter menu of a new window."""
            action = window.createAction(ACTION_ID, ACTION_TEXT, MENU_LOCATION)
            action.triggered.connect(run_action)

    Krita.instance().addExtension(PocketSRExtension(Krita.instance()))
