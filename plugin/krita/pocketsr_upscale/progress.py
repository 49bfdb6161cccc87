"""A QProgressDialog that shows a running job's percentage and time left, with Cancel."""

from __future__ import annotations

from .qt_compat import QtCore, QtWidgets
from .runner import JobState, load_bridge


class ProgressWindow:
    """Shows a JobState; pressing Cancel cancels it. Call poll() from the GUI thread."""

    def __init__(self, state: JobState, title: str, parent: object = None) -> None:
        self.state = state
        self.dialog = QtWidgets.QProgressDialog(
            "Starting the PocketSR engine…", "Cancel", 0, 100, parent
        )
        self.dialog.setWindowTitle(title)
        self.dialog.setWindowModality(QtCore.Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(0)
        self.dialog.setAutoClose(False)
        self.dialog.setAutoReset(False)
        self.dialog.canceled.connect(state.cancel)
        self.dialog.setValue(0)
        self.dialog.show()

    def poll(self) -> None:
        """Bring the bar and the label up to date with the job."""
        done, total, eta, elapsed = self.state.snapshot()
        if self.state.is_cancelled():
            self.dialog.setLabelText("Cancelling…")
            return
        if total:
            percent = int(100 * done / total)
            self.dialog.setValue(min(99, percent))
            left = load_bridge().wire.time_left_text(eta)
            self.dialog.setLabelText(
                f"Upscaling: {percent}% (tile {done} of {total})" + (f", {left}" if left else "")
            )
        else:
            self.dialog.setLabelText(f"Starting the PocketSR engine… ({elapsed:.0f} s)")

    def close(self) -> None:
        """Hide and delete the dialog."""
        self.dialog.canceled.disconnect(self.state.cancel)
        self.dialog.close()
        self.dialog.deleteLater()
