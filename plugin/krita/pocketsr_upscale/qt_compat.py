"""The one place that imports Qt: PyQt5 in Krita 5, PyQt6 in Krita 6.

Every other module takes QtCore, QtGui and QtWidgets from here, so moving to another Qt
binding is a change to this file only. Enum members are spelled fully scoped
(``QMessageBox.StandardButton.Ok``), which both bindings accept.
"""

from __future__ import annotations


def _krita_major() -> int | None:
    """Krita's major version when running inside Krita, else None."""
    try:
        from krita import Krita
    except ImportError:
        return None
    try:
        return int(str(Krita.instance().version()).split(".")[0])
    except (ValueError, AttributeError):
        return None


def _load() -> tuple[object, object, object, int]:
    """(QtCore, QtGui, QtWidgets, major) of the binding that matches the running host."""
    order = ("PyQt6", "PyQt5") if (_krita_major() or 5) >= 6 else ("PyQt5", "PyQt6")
    last: ImportError | None = None
    for name in order:
        try:
            core = __import__(name + ".QtCore", fromlist=["QtCore"])
            gui = __import__(name + ".QtGui", fromlist=["QtGui"])
            widgets = __import__(name + ".QtWidgets", fromlist=["QtWidgets"])
        except ImportError as exc:
            last = exc
            continue
        return core, gui, widgets, int(name[-1])
    raise ImportError(f"PocketSR needs PyQt5 or PyQt6 (Krita's own Qt bindings): {last}")


QtCore, QtGui, QtWidgets, QT_MAJOR = _load()


def exec_dialog(dialog: object) -> int:
    """Run a modal dialog (``exec`` in PyQt6, ``exec_`` in PyQt5) and return its result."""
    run = getattr(dialog, "exec", None) or dialog.exec_
    return int(run())


def process_events(max_ms: int = 50) -> None:
    """Let Qt handle pending events for up to max_ms (keeps the GUI alive while we wait)."""
    app = QtWidgets.QApplication.instance()
    if app is not None:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, max_ms)
