"""Viewer test fixtures: offscreen Qt, settings in a temporary place, small models and images."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QSettings
from viewer_helpers import ICC, blocks

from pocketsr.engine.imageio import ImageMeta, write_image


@pytest.fixture(autouse=True)
def temporary_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """Every test gets its own settings folder and organisation name (never the user's)."""
    folder = tmp_path / "settings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName(f"PocketSR-test-{request.node.name}"[:60])
    yield folder


@pytest.fixture
def settings(tmp_path: Path):
    """A Settings object stored in an .ini file inside the test's tmp folder."""
    from pocketsr.ui.settings import Settings

    return Settings(QSettings(str(tmp_path / "viewer.ini"), QSettings.Format.IniFormat))


@pytest.fixture(scope="session")
def slow_model(onnx_models: ModuleType, models_dir: Path) -> Path:
    """A heavier x2 test model: a 768×768 image takes about a second on one core."""
    return onnx_models.make_sr_model(models_dir / "ui_slow_x2.onnx", scale=2, layers=6, features=32)


@pytest.fixture
def window(qtbot, settings, sr_model_x4: Path):
    """A shown main window using the small x4 test model."""
    from pocketsr.ui.main_window import MainWindow

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.panel.add_model(str(sr_model_x4))
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    return win


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    """An 8-bit 64×48 PNG."""
    return write_image(tmp_path / "photo.png", blocks(64, 48))


@pytest.fixture
def deep_file(tmp_path: Path) -> Path:
    """A 16-bit 40×32 PNG with an ICC profile."""
    meta = ImageMeta(format="PNG", bit_depth=16, icc=ICC)
    return write_image(tmp_path / "deep.png", blocks(40, 32, np.uint16), meta)


@pytest.fixture
def corrupt_file(tmp_path: Path) -> Path:
    """A .png that is not a PNG at all."""
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    return path
