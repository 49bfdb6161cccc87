"""The upscale options panel: model (embedded or user .onnx), scale or size, tile, device."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QWidget,
)

from pocketsr.engine import available_devices, embedded_models
from pocketsr.engine.upscaler import user_models

from .settings import PanelOptions

SCALES = (0.0, 1.0, 1.5, 2.0, 3.0, 4.0)


class OptionsPanel(QWidget):
    """Edits PanelOptions; emits changed() whenever the user alters one."""

    changed = Signal()

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
        form = QFormLayout(self)
        form.addRow("Model", model_row)
        form.addRow("Scale", self.scale)
        form.addRow("Or size", size_row)
        form.addRow("Tile", self.tile)
        form.addRow("Device", self.device)
        self._fill_models()
        self.set_options(options)
        for combo in (self.model, self.scale, self.device):
            combo.currentIndexChanged.connect(self.changed)
        for spin in (self.width_box, self.height_box, self.tile):
            spin.valueChanged.connect(self.changed)

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
        )


def _spin(parent: QWidget, low: int, high: int, tip: str) -> QSpinBox:
    box = QSpinBox(parent)
    box.setRange(low, high)
    box.setToolTip(tip)
    return box
