"""Opening images: drops of files, several files, folders; corrupt files; paste; CLI; settings."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QSettings, QTimer, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from viewer_helpers import GapProbe, blocks, drop_files

from pocketsr.engine.imageio import write_image
from pocketsr.ui.convert import from_qimage, to_qimage
from pocketsr.ui.files import expand_paths
from pocketsr.ui.main_window import MainWindow
from pocketsr.ui.settings import PanelOptions, Settings


def test_drop_one_file_shows_it(window, image_file: Path) -> None:
    assert drop_files(window, [image_file])
    assert window.image is not None and window.image.width == 64
    assert window.canvas.image_size.width() == 64
    assert "photo.png" in window.windowTitle()
    assert not window.queue_dock.isVisible()
    assert window.settings.recent_files()[0] == str(image_file.resolve())


def test_drop_several_files_makes_a_queue(window, tmp_path: Path) -> None:
    paths = [write_image(tmp_path / f"p{i}.png", blocks(16, 16)) for i in range(3)]
    drop_files(window, paths)
    assert [item.source for item in window.queue.items] == paths
    assert window.queue_dock.isVisible()
    assert window.image is not None  # the first one is shown


def test_drop_a_folder_finds_its_images(window, tmp_path: Path) -> None:
    folder = tmp_path / "shoot"
    (folder / "sub").mkdir(parents=True)
    write_image(folder / "a.png", blocks(16, 16))
    write_image(folder / "sub" / "b.jpg", blocks(16, 16))
    (folder / "notes.txt").write_text("not an image")
    drop_files(window, [folder])
    names = sorted(item.source.name for item in window.queue.items)
    assert names == ["a.png", "b.jpg"]


def test_corrupt_file_gives_a_message_and_the_viewer_carries_on(
    window, image_file: Path, corrupt_file: Path, tmp_path: Path
) -> None:
    drop_files(window, [image_file])
    before = window.image
    drop_files(window, [corrupt_file])
    assert "broken.png" in window.last_message
    assert window.notices.isVisible() and "broken.png" in window.notices.text()
    assert window.image is before  # still showing the good one
    unsupported = tmp_path / "doc.txt"
    unsupported.write_text("hello")
    drop_files(window, [unsupported])
    assert "doc.txt" in window.last_message
    other = write_image(tmp_path / "other.png", blocks(20, 10))
    drop_files(window, [other])
    assert window.image is not None and window.image.width == 20


def test_paste_file_url_and_image_data(window, image_file: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image_file))])
    QGuiApplication.clipboard().setMimeData(mime)
    window.paste()
    assert window.image is not None and window.image.width == 64
    QGuiApplication.clipboard().setImage(to_qimage(blocks(12, 9)))
    window.paste()
    assert window.image.width == 12 and window.image.height == 9


def test_expand_paths_keeps_order_and_drops_duplicates(tmp_path: Path) -> None:
    a = write_image(tmp_path / "a.png", blocks(4, 4))
    b = write_image(tmp_path / "b.png", blocks(4, 4))
    assert expand_paths([b, a, b]) == [b, a]


def test_convert_keeps_16_bit() -> None:
    deep = blocks(9, 7, np.uint16)
    image = to_qimage(deep)
    assert image.depth() == 64
    back = from_qimage(image)
    assert back.dtype == np.uint16 and np.array_equal(back[..., :3], deep)
    grey = to_qimage(deep[..., 0])
    assert np.array_equal(from_qimage(grey), deep[..., 0])
    assert np.array_equal(from_qimage(to_qimage(blocks(9, 7)))[..., :3], blocks(9, 7))


def test_settings_are_remembered(qtbot, tmp_path: Path, image_file: Path) -> None:
    store = str(tmp_path / "remember.ini")
    first = MainWindow(Settings(QSettings(store, QSettings.Format.IniFormat)))
    qtbot.addWidget(first)
    first.panel.set_options(PanelOptions(scale=2.0, tile=192, device="cpu"))
    first.open_paths([image_file])
    first.resize(700, 500)
    first.close()
    second = MainWindow(Settings(QSettings(store, QSettings.Format.IniFormat)))
    qtbot.addWidget(second)
    options = second.panel.options()
    assert (options.scale, options.tile, options.device) == (2.0, 192, "cpu")
    assert second.settings.recent_files() == [str(image_file.resolve())]
    assert second.size().width() == 700


def test_command_line_opens_files(qtbot, image_file: Path) -> None:
    from pocketsr.ui import app

    seen: list[str] = []

    def close_all() -> None:
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, MainWindow):
                seen.append(widget.windowTitle())
                widget.close()

    QTimer.singleShot(300, close_all)
    assert app.main(["pocketsr-viewer", str(image_file)]) == 0
    assert any("photo.png" in title for title in seen)


def test_reading_and_writing_a_big_file_keeps_the_window_live(window, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    big = rng.integers(0, 65536, size=(1500, 1500, 3), dtype=np.uint16)  # 16-bit PNG: slow
    path = write_image(tmp_path / "big16.png", big)
    probe = GapProbe()
    probe.start()
    started = time.perf_counter()
    assert window.load_file(path)
    read_s = time.perf_counter() - started
    probe.stop()
    assert np.array_equal(window.image.pixels, big)
    print(f"read {read_s:.2f} s, {probe.ticks} ticks, max gap {probe.max_gap * 1000:.0f} ms")
    assert read_s > 0.2, "the file must take long enough to read for the probe to mean much"
    assert probe.ticks >= 5 and probe.max_gap < 0.25

    # A second file operation while one runs is refused with a message, not nested.
    window._file_busy = "reading big16.png"
    try:
        assert not window.load_file(path)
        assert "still reading" in window.last_message
    finally:
        window._file_busy = ""


def test_models_added_to_the_models_folder_are_offered(qtbot, tmp_path, monkeypatch):
    """A model `pocketsr models add` wrote appears in the viewer's model list by name."""
    import shutil

    from pocketsr.engine.upscaler import WEIGHTS_DIR
    from pocketsr.ui.panel import OptionsPanel
    from pocketsr.ui.settings import PanelOptions

    shutil.copy(WEIGHTS_DIR / "pocketsr-nano.onnx", tmp_path / "my-added-model.onnx")
    monkeypatch.setenv("POCKETSR_MODELS_DIR", str(tmp_path))
    panel = OptionsPanel(PanelOptions())
    qtbot.addWidget(panel)
    names = [panel.model.itemData(i) for i in range(panel.model.count())]
    assert "my-added-model" in names and "pocketsr-nano" in names
