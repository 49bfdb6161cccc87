"""The viewer's artist controls: the strength slider (shown for a model pair, re-renders the
region preview live), alpha mode and seamless reaching the engine, copy to the clipboard."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from viewer_helpers import drop_files

from pocketsr.engine import Rect, Upscaler
from pocketsr.engine.imageio import write_image
from pocketsr.ui.convert import from_qimage
from pocketsr.ui.settings import PanelOptions, Settings


def _photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:40, 0:48]
    base = 128 + 80 * np.sin(xx / 3.0)[..., None] * np.cos(yy / 4.0)[..., None]
    pixels = np.clip(base + rng.normal(0, 12, (40, 48, 3)), 0, 255).astype(np.uint8)
    return write_image(tmp_path / "photo.png", pixels)


def test_strength_row_only_for_a_model_with_a_partner(window, sr_model_x4: Path) -> None:
    panel = window.panel
    panel.model.setCurrentIndex(panel.model.findData("pocketsr-nano"))
    assert panel._form.isRowVisible(panel._strength_row)
    assert panel.model_strength() == 1.0 and panel.strength.value() == 100
    panel.model.setCurrentIndex(panel.model.findData("pocketsr-nano-fidelity"))
    assert panel.strength.value() == 0  # a newly chosen model starts at its own end
    panel.model.setCurrentIndex(panel.model.findData(str(sr_model_x4)))
    assert not panel._form.isRowVisible(panel._strength_row)
    assert panel.model_strength() is None


def test_moving_the_slider_re_renders_the_region_preview(qtbot, window, tmp_path: Path) -> None:
    path = _photo(tmp_path)
    drop_files(window, [path])
    panel = window.panel
    panel.model.setCurrentIndex(panel.model.findData("pocketsr-nano"))
    with qtbot.waitSignal(window.runner.finished, timeout=30_000) as first:
        window.upscale_region(QRect(8, 6, 24, 20))  # image pixels, as the ROI tool gives
    with qtbot.waitSignal(window.runner.finished, timeout=30_000) as second:
        panel.strength.setValue(0)  # the live re-render starts by itself
    pixels = window.image.pixels
    up = Upscaler("pocketsr-nano", device="cpu")
    region = Rect(8, 6, 24, 20)
    assert np.array_equal(first.args[1], up.upscale(pixels, roi=region))
    assert np.array_equal(second.args[1], up.upscale(pixels, roi=region, strength=0.0))
    assert not np.array_equal(first.args[1], second.args[1])
    assert Settings(window.settings.store).options().strength == 0.0  # remembered


def test_alpha_mode_and_seamless_reach_the_engine(qtbot, window, tmp_path: Path) -> None:
    rgba = np.zeros((24, 28, 4), np.uint8)
    rgba[4:20, 6:22] = (200, 90, 40, 255)
    drop_files(window, [write_image(tmp_path / "sprite.png", rgba)])
    window.panel.set_options(
        PanelOptions(model="pocketsr-nano", alpha_mode="model", seamless=True, device="cpu")
    )
    assert window.panel.options().alpha_mode == "model" and window.panel.options().seamless
    with qtbot.waitSignal(window.runner.finished, timeout=30_000):
        window.upscale()
    expected = Upscaler("pocketsr-nano", device="cpu").upscale(
        rgba, alpha_mode="model", seamless=True, strength=1.0
    )
    assert np.array_equal(window.result, expected)


def test_copy_result_puts_the_whole_image_on_the_clipboard(qtbot, window, image_file: Path) -> None:
    drop_files(window, [image_file])
    assert not window.copy_action.isEnabled()
    with qtbot.waitSignal(window.runner.finished, timeout=20_000):
        window.upscale()
    window.copy_action.trigger()
    copied = from_qimage(QGuiApplication.clipboard().image())
    assert copied.shape[:2] == window.result.shape[:2]
    assert np.array_equal(copied[..., :3], window.result[..., :3])
