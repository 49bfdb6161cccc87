"""Test-only Krita plug-in: in the full GUI, run PocketSR Upscale through its action.

When the first window appears it: looks the action `pocketsr_upscale` up and notes which
menu holds it; opens a small document; triggers the action, accepting the dialog (after a
screenshot) from a timer; notes the result; writes POCKETSR_GUI_RESULTS; quits Krita.
"""

import json
import os
import traceback

from krita import Extension, Krita
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QApplication, QDialog, QMessageBox

OUT = os.environ.get("POCKETSR_GUI_RESULTS", "/tmp/pocketsr-gui-results.json")
facts = {"events": []}


def _menus_holding(window, action_id):
    """objectNames of top menus whose entries include action_id."""
    found = []
    for top in window.qwindow().menuBar().actions():
        menu = top.menu()
        if menu is not None and action_id in [a.objectName() for a in menu.actions()]:
            found.append(top.objectName())
    return found


def _answer_dialogs():
    """Screenshot and accept the PocketSR dialog; record and close any message box."""
    widget = QApplication.activeModalWidget()
    if widget is None:
        return
    if isinstance(widget, QMessageBox):
        facts["message_box"] = widget.text()
        widget.accept()
    elif isinstance(widget, QDialog) and widget.windowTitle() == "PocketSR Upscale":
        preview = getattr(widget, "preview_result", None)
        ticks = facts["dialog_ticks"] = facts.get("dialog_ticks", 0) + 1
        if preview is None and ticks < 40:
            return  # the preview renders when the dialog opens: wait for it (12 s at most)
        if preview is not None:
            with open(os.environ["POCKETSR_GUI_PREVIEW"], "wb") as f:
                f.write(preview.after)
            facts["preview"] = {
                "region": list(preview.region),
                "size": list(preview.size),
                "seconds": preview.seconds,
            }
            doc = Krita.instance().activeDocument()
            facts["during_preview"] = [doc.width(), doc.height(), len(doc.topLevelNodes())]
            widget.show_before.setChecked(True)
            facts["before_differs"] = preview.before != preview.after
            widget.show_before.setChecked(False)
        else:
            facts["preview_status"] = widget.preview_status.text()
        shot = os.environ.get("POCKETSR_GUI_SCREENSHOT")
        if shot and "screenshot" not in facts:
            facts["screenshot"] = bool(widget.grab().save(shot))
        row = getattr(widget, "strength_row", None)
        facts["strength_visible"] = None if row is None else row.isVisible()
        if row is not None:
            widget.strength.setValue(50)
        scale = getattr(widget, "scale", None)
        if scale is not None:
            scale.setCurrentIndex(scale.findData("2"))
        facts["dialog_accepted"] = True
        widget.accept()


def _run():
    try:
        krita = Krita.instance()
        window = krita.activeWindow()
        facts["extensions"] = [type(e).__name__ for e in krita.extensions()]
        action = krita.action("pocketsr_upscale")
        facts["action"] = action.objectName() if action is not None else None
        facts["action_text"] = action.text() if action is not None else None
        facts["menus"] = _menus_holding(window, "pocketsr_upscale")
        width, height = (int(v) for v in os.environ["POCKETSR_GUI_IMAGE_SIZE"].split("x"))
        doc = krita.createDocument(width, height, "gui-test", "RGBA", "U8", "", 72.0)
        layer = doc.topLevelNodes()[0]
        with open(os.environ["POCKETSR_GUI_IMAGE"], "rb") as f:  # BGRA, Krita's 8-bit order
            layer.setPixelData(f.read(), 0, 0, width, height)
        window.addView(doc)
        krita.setActiveDocument(doc)
        facts["before"] = [doc.width(), doc.height(), len(doc.topLevelNodes())]
        timer = QTimer()
        timer.timeout.connect(_answer_dialogs)
        timer.start(300)
        if action is not None:
            action.trigger()
        timer.stop()
        facts["after"] = [doc.width(), doc.height(), [n.name() for n in doc.topLevelNodes()]]
        doc.setModified(False)
    except Exception:
        facts["error"] = traceback.format_exc()
    with open(OUT, "w") as f:
        json.dump(facts, f)
    for doc in Krita.instance().documents():
        doc.setModified(False)
    Krita.instance().action("file_quit").trigger()


class GuiProbe(Extension):
    """Starts _run once the first window exists."""

    def setup(self):
        Krita.instance().notifier().windowCreated.connect(lambda: QTimer.singleShot(2000, _run))

    def createActions(self, window):
        pass


Krita.instance().addExtension(GuiProbe(Krita.instance()))
