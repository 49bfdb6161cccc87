"""Which image files a drop, a paste, a dialog or the command line names."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage

from pocketsr.engine.imageio import FORMATS, is_image_path

from .convert import from_qimage

OPEN_FILTER = "Images (" + " ".join(f"*{ext}" for ext in sorted(FORMATS)) + ");;All files (*)"


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given (any extension, so bad files get a message) and image files in folders."""
    found: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p)))
        else:
            found.append(path)
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def paths_from_urls(urls: Iterable[QUrl]) -> list[Path]:
    """Local files and folders named by URLs (file managers send file:// URLs)."""
    return expand_paths(url.toLocalFile() for url in urls if url.isLocalFile())


def mime_has_images(mime: QMimeData) -> bool:
    """True when a drop or paste carries local files or an image."""
    return any(url.isLocalFile() for url in mime.urls()) or mime.hasImage()


def paths_from_mime(mime: QMimeData) -> list[Path]:
    """The local files (folders expanded) a drop or paste carries."""
    if mime.hasUrls():
        return paths_from_urls(mime.urls())
    if mime.hasText():  # some file managers paste paths as text
        lines = [line.strip() for line in mime.text().splitlines() if line.strip()]
        urls = [QUrl(line) if "://" in line else QUrl.fromLocalFile(line) for line in lines]
        return [p for p in paths_from_urls(urls) if p.exists()]
    return []


def image_from_mime(mime: QMimeData) -> np.ndarray | None:
    """The pixels of an image carried directly in a drop or paste (not a file), or None."""
    if not mime.hasImage():
        return None
    image = mime.imageData()
    if not isinstance(image, QImage) or image.isNull():
        return None
    return from_qimage(image)
