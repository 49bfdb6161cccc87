"""The upscale options panel: model (embedded or user .onnx), strength, scale or size, alpha,
seamless, tile, device."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from pocketsr.engine import available_devices, embedded_models
from pocketsr.engine.upscaler import user_models
from pocketsr.plugin.pocketsr_link import wire

from .settings import PanelOptions

SCALES = (0.0, 1.0, 1.5, 2.0, 3.0, 4.0)
ALPHA_LABELS = {
    wire.ALPHA_RESAMPLE: "Resample (smooth edges)",
    wire.ALPHA_MODEL: "Through the model (crisp edges, ×2 time)",
}


class OptionsPanel(QWidget):
    """Edits PanelOptions; emits changed() whenever the user alters one, and
    strengthChanged() when the strength slider moves (the viewer re-renders its preview)."""

    changed = Signal()
    strengthChanged = Signal()

    def __init__(self, options: PanelOptions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._user_models = list(options.user_models)
        self.model = QComboBox(self)
        self.model.setToolTip("The super-resolution network (embedded or your own .onnx file)")
        add = QPushButton("Add…", self)
        add.setToolTip("Use your own ONNX super-resolution model")
        add.clicked.connect(self._add_model_dialog)
        self.scale = QComboBox(self)
        for value in SCALES:
            self.scale.addItem("Model's own" if value == 0 else f"×{value:g}", value)
        self.width_box = _spin(self, 0, 100_000, "Target width (0: from height or scale)")
        self.height_box = _spin(self, 0, 100_000, "Target height (0: from width or scale)")
        self.tile = _spin(self, 0, 4096, "Tile side in input pixels (Auto: from memory)")
        self.tile.setSpecialValueText("Auto")
        self.tile.setSingleStep(64)
        self.strength = QSlider(Qt.Orientation.Horizontal, self)
        self.strength.setRange(0, 100)
        self.strength.setToolTip(
            "0: fidelity (faithful, least invented detail) … 1: detail (cleans noise and JPEG "
            "blocks). Mixes the weights of a model pair in one run."
        )
        self.strength_value = QLabel(self)
        self.strength_value.setMinimumWidth(32)
        self.alpha_mode = QComboBox(self)
        for mode in wire.ALPHA_MODES:
            self.alpha_mode.addItem(ALPHA_LABELS[mode], mode)
        self.seamless = QCheckBox("Seamless (tileable texture)", self)
        self.seamless.setToolTip("Wrap around the borders instead of mirroring them")
        self.device = QComboBox(self)
        self.device.addItem("Auto", "auto")
        for name in available_devices():
            self.device.addItem(name.upper() if len(name) <= 4 else name, name)
        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(add)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(self.height_box)
        strength_row = QHBoxLayout()
        strength_row.addWidget(QLabel("fidelity", self))
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(QLabel("detail", self))
        strength_row.addWidget(self.strength_value)
        form = QFormLayout(self)
        self._form = form
        form.addRow("Model", model_row)
        form.addRow("Strength", strength_row)
        self._strength_row = strength_row
        form.addRow("Scale", self.scale)
        form.addRow("Or size", size_row)
        form.addRow("Alpha", self.alpha_mode)
        form.addRow("", self.seamless)
        form.addRow("Tile", self.tile)
        form.addRow("Device", self.device)
        self._fill_models()
        self.set_options(options)
        for combo in (self.model, self.scale, self.device, self.alpha_mode):
            combo.currentIndexChanged.connect(self.changed)
        for spin in (self.width_box, self.height_box, self.tile):
            spin.valueChanged.connect(self.changed)
        self.seamless.toggled.connect(self.changed)
        self.strength.valueChanged.connect(self._strength_moved)
        self.model.currentIndexChanged.connect(self._model_changed)

    def model_strength(self) -> float | None:
        """The chosen model's own strength when it has a partner to mix with, else None."""
        info = {**embedded_models(), **user_models()}.get(str(self.model.currentData() or ""))
        return info.strength if info is not None and info.has_strength else None

    def _show_strength(self) -> None:
        """The strength row only for a model with a partner."""
        self._form.setRowVisible(self._strength_row, self.model_strength() is not None)

    def _strength_moved(self, value: int) -> None:
        self.strength_value.setText(f"{value / 100:.2f}")
        self.changed.emit()
        self.strengthChanged.emit()

    def _model_changed(self, *_: object) -> None:
        """A newly chosen model of a pair starts at its own end of the strength axis."""
        own = self.model_strength()
        if own is not None:
            self.strength.setValue(round(100 * own))
        self._show_strength()

    def _fill_models(self) -> None:
        self.model.blockSignals(True)
        self.model.clear()
        # Embedded models, then those `pocketsr models add` put in the models folder.
        for name, info in {**embedded_models(), **user_models()}.items():
            self.model.addItem(f"{name} (×{info.scale})", name)
        for path in self._user_models:
            self.model.addItem(Path(path).name, path)
        self.model.blockSignals(False)

    def add_model(self, path: str) -> None:
        """Add a user .onnx model to the list and select it."""
        if path not in self._user_models:
            self._user_models.append(path)
            self._fill_models()
        self.model.setCurrentIndex(self.model.findData(path))

    def _add_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a model", "", "ONNX models (*.onnx)")
        if path:
            self.add_model(path)

    def set_options(self, options: PanelOptions) -> None:
        """Show these options."""
        for path in options.user_models:
            if path not in self._user_models:
                self._user_models.append(path)
        self._fill_models()
        index = self.model.findData(options.model)
        if index < 0 and options.model.endswith(".onnx"):
            self.add_model(options.model)
        else:
            self.model.setCurrentIndex(max(0, index))
        scale = self.scale.findData(options.scale)
        if scale < 0:
            self.scale.addItem(f"×{options.scale:g}", options.scale)
            scale = self.scale.count() - 1
        self.scale.setCurrentIndex(scale)
        self.width_box.setValue(options.width)
        self.height_box.setValue(options.height)
        self.tile.setValue(options.tile)
        self.device.setCurrentIndex(max(0, self.device.findData(options.device)))
        self.strength.blockSignals(True)
        self.strength.setValue(round(100 * options.strength))
        self.strength.blockSignals(False)
        self.strength_value.setText(f"{options.strength:.2f}")
        self.alpha_mode.setCurrentIndex(max(0, self.alpha_mode.findData(options.alpha_mode)))
        self.seamless.setChecked(options.seamless)
        self._show_strength()

    def options(self) -> PanelOptions:
        """The options as shown."""
        return PanelOptions(
            model=str(self.model.currentData() or ""),
            scale=float(self.scale.currentData() or 0.0),
            width=self.width_box.value(),
            height=self.height_box.value(),
            tile=self.tile.value(),
            device=str(self.device.currentData() or "auto"),
            user_models=list(self._user_models),
            strength=self.strength.value() / 100,
            alpha_mode=str(self.alpha_mode.currentData() or wire.ALPHA_RESAMPLE),
            seamless=self.seamless.isChecked(),
        )


def _spin(parent: QWidget, low: int, high: int, tip: str) -> QSpinBox:
    box = QSpinBox(parent)
    box.setRange(low, high)
    box.setToolTip(tip)
    return box
