"""Where models are: the embedded ones, the user's models folder, and a name or path to a file."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from .errors import ModelError
from .modelinfo import load_model_info
from .types import ModelInfo

DEFAULT_MODEL = "pocketsr-nano"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


def embedded_models() -> dict[str, ModelInfo]:
    """The models shipped in engine/weights/, by name (file stem), with their ModelInfo."""
    found = {}
    for path in sorted(WEIGHTS_DIR.glob("*.onnx")):
        stat = path.stat()
        found[path.stem] = _cached_info(str(path), stat.st_mtime_ns, stat.st_size)
    return found


@functools.lru_cache(maxsize=32)
def _cached_info(path: str, mtime_ns: int, size: int) -> ModelInfo:
    return load_model_info(path)


def user_models_dir() -> Path:
    """The folder of models the user added: $POCKETSR_MODELS_DIR, else the installer's one."""
    override = os.environ.get("POCKETSR_MODELS_DIR")
    if override:
        return Path(override).expanduser()
    from pocketsr.installers import platforms  # the one per-platform folder rule

    return platforms.models_dir(platforms.detect_system())


def user_models() -> dict[str, ModelInfo]:
    """The models in the user's models folder, by name (file stem); unreadable ones skipped."""
    return models_in(user_models_dir())


def models_in(folder: Path) -> dict[str, ModelInfo]:
    """The .onnx models in a folder, by name (file stem); files that are no model skipped."""
    found = {}
    for path in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
        stat = path.stat()
        try:
            found[path.stem] = _cached_info(str(path), stat.st_mtime_ns, stat.st_size)
        except ModelError:
            continue
    return found


def model_path(model: str | os.PathLike[str]) -> Path:
    """The .onnx file for a model name (user's folder, then embedded) or a path; else ModelError."""
    text = os.fspath(model)
    looks_like_path = (
        isinstance(model, os.PathLike) or text.endswith(".onnx") or "/" in text or os.sep in text
    )
    if looks_like_path:
        path = Path(text).expanduser()
        if not path.is_file():
            raise ModelError(f"The model file '{path}' does not exist.")
        return path
    for folder in (user_models_dir(), WEIGHTS_DIR):
        path = folder / f"{text}.onnx"
        if path.is_file():
            return path
    names = sorted(p.stem for p in WEIGHTS_DIR.glob("*.onnx"))
    have = ", ".join(names) if names else "none are installed yet"
    raise ModelError(
        f"There is no embedded model named '{text}' (embedded models: {have}); "
        "give the path of an .onnx file instead."
    )
