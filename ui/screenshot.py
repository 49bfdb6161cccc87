"""Take the README screenshot: the real viewer with a synthetic picture, upscaled and compared.

Run by hand (`python -m pocketsr.ui.screenshot [OUT.png]`, default docs/viewer.png) or by the
Xvfb test. Every pixel comes from this project: the picture is drawn here, not loaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QPointF, QSettings, QTimer

from pocketsr.engine import DEFAULT_MODEL
from pocketsr.engine.imageio import write_image

from .app import make_app
from .main_window import MainWindow
from .settings import PanelOptions, Settings

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "viewer.png"


def synthetic_picture(width: int = 320, height: int = 200) -> np.ndarray:
    """A colourful test card: rings, stripes of rising frequency and soft gradients (uint8)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width * 0.3, height * 0.5
    r = np.hypot(x - cx, y - cy)
    rings = 0.5 + 0.5 * np.cos(r * r / 90.0)
    stripes = 0.5 + 0.5 * np.sin(x * (0.05 + x / width * 0.9))
    red = np.where(x < width * 0.55, rings, stripes) * 0.8 + 0.2 * (y / height)
    green = 0.6 * rings * (x / width) + 0.4 * (1 - y / height)
    blue = 0.5 + 0.5 * np.sin((x + y) / 17.0)
    picture = np.stack([red, green, blue], axis=-1)
    return np.rint(np.clip(picture, 0, 1) * 255).astype(np.uint8)


def _wait(window: MainWindow, seconds: float) -> bool:
    """Run the event loop until the window's upscale ends; False on timeout."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    for signal in (window.runner.finished, window.runner.failed, window.runner.cancelled):
        signal.connect(loop.quit)
    timer.start(int(seconds * 1000))
    loop.exec()
    return timer.isActive()


def take(out: Path, model: str = DEFAULT_MODEL, timeout: float = 120.0) -> Path:
    """Open, upscale and grab the viewer window into `out` (PNG); raises on failure."""
    app = make_app(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        store = QSettings(str(Path(folder) / "viewer.ini"), QSettings.Format.IniFormat)
        window = MainWindow(Settings(store))
        window.panel.set_options(PanelOptions(model=model, device="cpu"))
        window.resize(1200, 720)
        window.show()
        picture = write_image(Path(folder) / "test-card.png", synthetic_picture())
        window.open_paths([picture])
        window.upscale()
        if not _wait(window, timeout) or window.result is None:
            raise RuntimeError(f"the upscale did not finish: {window.last_message}")
        canvas = window.canvas
        canvas.zoom_at(QPointF(canvas.width() * 0.45, canvas.height() * 0.5), canvas.zoom * 2.2)
        canvas.set_split(0.5)
        app.processEvents()
        image = window.grab().toImage()
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            raise RuntimeError(f"cannot write {out}")
        window.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: python -m pocketsr.ui.screenshot [OUT] [--model NAME_OR_PATH]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    print(take(args.out, args.model))
    return 0


if __name__ == "__main__":
    sys.exit(main())
