"""The PocketSR Upscale dialog: scale or target size, source, output, model, strength, alpha,
seamless, tile, device.

Values are remembered in Krita's own settings (kritarc, group "pocketsr_upscale").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from .qt_compat import QtCore, QtGui, QtWidgets

GROUP = "pocketsr_upscale"
TARGET_SIZE = ("Target size", "size")
SOURCES = (("Active layer", "layer"), ("Visible image (all layers)", "image"))
OUTPUTS = (
    ("Scale the document, result as a new layer on top", "layer"),
    ("New document", "document"),
)
TILES = (
    ("Auto", "auto"),
    ("128 px", "128"),
    ("256 px", "256"),
    ("512 px", "512"),
    ("1024 px", "1024"),
)
ALPHA_MODES = (
    ("Resample (smooth edges)", "resample"),
    ("Through the model (crisp cut-out edges, ×2 time)", "model"),
)
DEFAULT_MODEL = "pocketsr-nano"  # what "Default" runs when the engine does not say
PREVIEW_VIEW = 256  # the preview's side on screen (pocketsr_link.preview.PREVIEW_SIDE)


class Choice(NamedTuple):
    """One of the dialog's choices: its settings key, label, default and fixed items.

    Items left empty come from the engine's answer (its models and devices).
    """

    key: str
    label: str
    default: str
    items: tuple[tuple[str, str], ...] = ()


# The dialog's choices, declared once (as the GIMP plug-in's ARGUMENTS are): the settings, the
# rows and values() all follow this table.
CHOICES = (
    Choice("scale", "Scale:", "2"),
    Choice("source", "Source:", "layer", SOURCES),
    Choice("output", "Output:", "layer", OUTPUTS),
    Choice("model", "Model:", ""),
    Choice("alpha_mode", "Alpha:", "resample", ALPHA_MODES),
    Choice("tile", "Tile size:", "auto", TILES),
    Choice("device", "Device:", "auto"),
)
DEFAULTS = {c.key: c.default for c in CHOICES} | {
    "width": "0",
    "height": "0",
    "selection": "true",
    "strength": "1.0",
    "seamless": "false",
}


def model_strength(engine_info: dict, model: str) -> float | None:
    """The chosen model's own strength when it has a partner to mix with, else None."""
    name = model or engine_info.get("default_model") or DEFAULT_MODEL
    for entry in engine_info.get("models", []):
        if entry.get("name") == name and entry.get("partner"):
            return entry.get("strength")
    return None


def read_settings(krita: Any) -> dict[str, str]:
    """The remembered values (defaults where nothing was saved)."""
    return {key: krita.readSetting(GROUP, key, value) for key, value in DEFAULTS.items()}


def write_settings(krita: Any, values: dict[str, str]) -> None:
    """Remember values for the next time."""
    for key in DEFAULTS:
        if key in values:
            krita.writeSetting(GROUP, key, str(values[key]))


def scale_choices(engine_info: dict) -> tuple[tuple[str, str], ...]:
    """2x up to the largest factor of the engine's models (their ModelInfo), then a target size.

    Without an answer from the engine yet, 2x to 4x (the embedded models' factor).
    """
    scales = [m.get("scale") for m in engine_info.get("models", [])]
    top = max((s for s in scales if isinstance(s, int) and s >= 2), default=4)
    return (*((f"{n}×", str(n)) for n in range(2, top + 1)), TARGET_SIZE)


def engine_items(engine_info: dict) -> dict[str, tuple[tuple[str, str], ...]]:
    """The choices whose items come from the engine: scales, models, devices."""
    models = [m.get("name") for m in engine_info.get("models", []) if m.get("name")]
    devices = [d for d in engine_info.get("devices", []) if d != "auto"]
    return {
        "scale": scale_choices(engine_info),
        "model": (("Default", ""), *((m, m) for m in models)),
        "device": (("Auto", "auto"), *((d.upper(), d) for d in devices)),
    }


def _combo(items: tuple[tuple[str, str], ...], current: str) -> QtWidgets.QComboBox:
    """A combo box of (label, value) pairs with current selected when present."""
    box = QtWidgets.QComboBox()
    for label, value in items:
        box.addItem(label, value)
    index = box.findData(current)
    box.setCurrentIndex(max(0, index))
    return box


class UpscaleDialog(QtWidgets.QDialog):
    """Asks how to upscale one document; values() gives the answers as strings.

    previewer(upscale arguments) -> a Preview (api.preview for this document), or None for
    a dialog without one; the preview is rendered when the dialog opens and again when an
    option changes.
    """

    def __init__(
        self,
        document: Any,
        settings: dict[str, str],
        engine_info: dict | None,
        parent: Any = None,
        previewer: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("PocketSR Upscale")
        self.doc_size = (document.width(), document.height())
        self.previewer = previewer
        self.preview_result: Any = None
        outer = QtWidgets.QHBoxLayout(self)
        form = QtWidgets.QFormLayout()
        outer.addLayout(form)

        dynamic = engine_items(engine_info or {})
        self.combos: dict[str, QtWidgets.QComboBox] = {}
        for choice in CHOICES:
            combo = _combo(choice.items or dynamic[choice.key], settings[choice.key])
            self.combos[choice.key] = combo
            form.addRow(choice.label, combo)
            if choice.key == "scale":
                form.addRow("Target size:", self._size_row(settings))
            elif choice.key == "output":
                self.selection = QtWidgets.QCheckBox("Only the selection (when there is one)")
                self.selection.setChecked(settings["selection"] == "true")
                self.selection.setEnabled(document.selection() is not None)
                form.addRow("", self.selection)
            if choice.key == "model":
                form.addRow(self._strength_row(settings))
            elif choice.key == "alpha_mode":
                self.seamless = QtWidgets.QCheckBox("Seamless (tileable textures)")
                self.seamless.setChecked(settings["seamless"] == "true")
                form.addRow("", self.seamless)
        self.scale = self.combos["scale"]
        self.engine_info = engine_info or {}
        if engine_info is None:
            form.addRow("", QtWidgets.QLabel("The engine did not answer yet: defaults shown."))

        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QtWidgets.QDialogButtonBox.StandardButton.Ok).setText("Upscale")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.scale.currentIndexChanged.connect(self._scale_changed)
        self._scale_changed()
        self.combos["model"].currentIndexChanged.connect(self._model_changed)
        self._show_strength()
        if previewer is not None:
            outer.addLayout(self._preview_column())

    def _preview_column(self) -> QtWidgets.QVBoxLayout:
        """The 1:1 preview, its before/after toggle and what it shows."""
        column = QtWidgets.QVBoxLayout()
        self.preview_label = QtWidgets.QLabel("Rendering the preview…")
        self.preview_label.setFixedSize(PREVIEW_VIEW, PREVIEW_VIEW)
        self.preview_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.preview_label.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.show_before = QtWidgets.QCheckBox("Show the original (before)")
        self.preview_status = QtWidgets.QLabel("")
        self.preview_status.setWordWrap(True)
        self.preview_status.setMaximumWidth(PREVIEW_VIEW)
        column.addWidget(self.preview_label)
        column.addWidget(self.show_before)
        column.addWidget(self.preview_status)
        column.addStretch(1)
        self._rerender = QtCore.QTimer(self)
        self._rerender.setSingleShot(True)
        self._rerender.setInterval(250)
        self._rerender.timeout.connect(self.render_preview)
        for combo in self.combos.values():
            combo.currentIndexChanged.connect(self._rerender.start)
        for box in (self.width_box, self.height_box, self.strength):
            box.valueChanged.connect(self._rerender.start)
        for check in (self.seamless, self.selection):
            check.toggled.connect(self._rerender.start)
        self.show_before.toggled.connect(self._show_preview)
        QtCore.QTimer.singleShot(0, self.render_preview)
        return column

    def render_preview(self) -> None:
        """Render the preview for the values shown now (never changes the document)."""
        try:
            self.preview_result = self.previewer(upscale_arguments(self.values()))
        except Exception as exc:  # the dialog stays usable; the reason is shown
            self.preview_result = None
            self.preview_label.setText("No preview")
            self.preview_status.setText(str(exc))
            return
        region = self.preview_result.region
        self.preview_status.setText(
            f"1:1, {region.width}×{region.height} px at {region.x},{region.y}: "
            f"{self.preview_result.seconds:.2f} s"
        )
        self._show_preview()

    def _show_preview(self, *_: object) -> None:
        result = self.preview_result
        if result is None:
            return
        data = result.before if self.show_before.isChecked() else result.after
        width, height = result.size
        image = QtGui.QImage(data, width, height, width * 4, QtGui.QImage.Format.Format_RGBA8888)
        self.preview_label.setPixmap(QtGui.QPixmap.fromImage(image.copy()))

    def _strength_row(self, settings: dict[str, str]) -> QtWidgets.QWidget:
        """Fidelity ... detail: a slider from 0 to 100 with its value beside it."""
        row = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        self.strength_label = QtWidgets.QLabel("Strength:")
        layout.addWidget(self.strength_label)
        layout.addWidget(QtWidgets.QLabel("fidelity"))
        self.strength = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(round(100 * float(settings["strength"] or 1.0)))
        layout.addWidget(self.strength, 1)
        layout.addWidget(QtWidgets.QLabel("detail"))
        self.strength_value = QtWidgets.QLabel()
        layout.addWidget(self.strength_value)
        self.strength.valueChanged.connect(self._strength_moved)
        self._strength_moved(self.strength.value())
        self.strength_row = row
        return row

    def _strength_moved(self, value: int) -> None:
        self.strength_value.setText(f"{value / 100:.2f}")

    def _show_strength(self) -> None:
        """The strength row only for a model with a partner to mix with."""
        own = model_strength(self.engine_info, self.combos["model"].currentData())
        self.strength_row.setVisible(own is not None)

    def _model_changed(self, *_: object) -> None:
        """A newly chosen model of a pair starts at its own end of the strength axis."""
        own = model_strength(self.engine_info, self.combos["model"].currentData())
        if own is not None:
            self.strength.setValue(round(100 * own))
        self._show_strength()

    def _size_row(self, settings: dict[str, str]) -> QtWidgets.QHBoxLayout:
        """The target width and height fields, with the keep-aspect box."""
        size_row = QtWidgets.QHBoxLayout()
        self.width_box = QtWidgets.QSpinBox()
        self.height_box = QtWidgets.QSpinBox()
        for box in (self.width_box, self.height_box):
            box.setRange(1, 65535)
            box.setSuffix(" px")
            size_row.addWidget(box)
        w, h = int(settings["width"] or 0), int(settings["height"] or 0)
        self.width_box.setValue(w or self.doc_size[0] * 2)
        self.height_box.setValue(h or self.doc_size[1] * 2)
        self.keep_aspect = QtWidgets.QCheckBox("Keep aspect")
        self.keep_aspect.setChecked(True)
        size_row.addWidget(self.keep_aspect)
        self.width_box.valueChanged.connect(self._width_changed)
        return size_row

    def _scale_changed(self, *_: object) -> None:
        """Target size fields only for 'Target size'."""
        on = self.scale.currentData() == "size"
        for widget in (self.width_box, self.height_box, self.keep_aspect):
            widget.setEnabled(on)

    def _width_changed(self, value: int) -> None:
        """Follow the width with the height when keeping the aspect."""
        if self.keep_aspect.isChecked() and self.doc_size[0]:
            self.height_box.setValue(max(1, round(value * self.doc_size[1] / self.doc_size[0])))

    def values(self) -> dict[str, str]:
        """The answers, as the strings stored in the settings."""
        values = {key: combo.currentData() for key, combo in self.combos.items()}
        return values | {
            "width": str(self.width_box.value()),
            "height": str(self.height_box.value()),
            "selection": "true" if self.selection.isChecked() else "false",
            "strength": f"{self.strength.value() / 100:.2f}",
            "seamless": "true" if self.seamless.isChecked() else "false",
        }


def upscale_arguments(values: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments for api.upscale from the dialog's values."""
    args: dict[str, Any] = {
        "source": values["source"],
        "output": values["output"],
        "use_selection": values["selection"] == "true",
        "model": values["model"] or None,
        "tile": values["tile"],
        "device": values["device"],
        "alpha_mode": values.get("alpha_mode") or "resample",
        "seamless": values.get("seamless") == "true",
    }
    if values.get("strength"):  # api.upscale leaves it out for a model without a partner
        args["strength"] = float(values["strength"])
    if values["scale"] == "size":
        args["scale"] = None
        args["size"] = (int(values["width"]), int(values["height"]))
    else:
        args["scale"] = int(values["scale"])
    return args
