"""Bad command lines and odd files get a sentence and the right exit code, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

CLI = [sys.executable, "-m", "pocketsr.engine.cli", "upscale"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "a.png")
    (folder / "junk.tif").write_bytes(b"II*\x00" + b"\xff" * 50)
    tifffile.imwrite(folder / "pages.tif", np.zeros((3, 16, 16, 3), np.uint8))
    frames = [Image.fromarray(np.full((16, 16, 3), i * 80, np.uint8)) for i in range(3)]
    frames[0].save(folder / "anim.webp", save_all=True, append_images=frames[1:])
    return folder


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["junk.tif", "-o", "o.png"], 1, "its internal structure is damaged"),
        (["a.png", "--scale", "17", "-o", "o.png"], 2, "out of range"),
        (["a.png", "--roi", "-1,0,4,4", "-o", "o.png"], 2, "must have x,y >= 0"),
        (["a.png", "-o", "o.png", "--format", "jpg"], 2, "the extension decides"),
        (["pages.tif", "-o", "o.tif"], 0, "has 3 pages; only the first is upscaled"),
        (["anim.webp", "-o", "o.png"], 0, "has 3 frames; only the first is upscaled"),
        (["a.png", "-o", "o.tif"], 0, ""),
    ],
)
def test_messages_and_exit_codes(files: Path, tmp_path: Path, args, code, words) -> None:
    argv = [str(files / a) if (files / a).exists() else a for a in args]
    argv = [str(tmp_path / a) if a.startswith("o.") else a for a in argv]
    done = subprocess.run([*CLI, *argv, "-q"], capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert words in done.stderr
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert "tifffile" not in done.stderr  # its log lines stay out of our output
    if code != 0:
        assert not list(tmp_path.iterdir())
