"""What a model is: ModelInfo from ONNX metadata, checked (or found) by tiny trial runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ModelError, OutOfMemoryError
from .session import ModelSession
from .types import ModelInfo

PREFIX = "pocketsr."
DEFAULT_RECEPTIVE_FIELD = 32
_CANDIDATE_MULTIPLES = (1, 2, 4, 8, 16, 32, 64)
_MIN_TRIAL = 16  # trial inputs at least this big, so models with a minimum size still run
_INT_KEYS = ("scale", "in_channels", "out_channels", "size_multiple", "receptive_field")
_TEXT_KEYS = ("name", "version", "license", "description", "partner")


def load_model_info(path: str | Path) -> ModelInfo:
    """Describe the model at a path, using a throwaway CPU session."""
    return read_model_info(ModelSession(path, device="cpu", threads=1))


def read_model_info(session: ModelSession) -> ModelInfo:
    """Describe a loaded model from its metadata, then check it with a trial run."""
    shape = session.input_shape
    name = session.path.name
    if shape and len(shape) != 4:
        raise ModelError(
            f"The model '{name}' takes a {len(shape)}-D input {shape}; "
            "a super-resolution model takes a 4-D N×C×H×W image."
        )
    meta = _parse_metadata(session)
    declared = shape[1] if len(shape) == 4 and isinstance(shape[1], int) else None
    in_channels = meta.get("in_channels", declared)
    if declared is not None and in_channels != declared:
        raise ModelError(
            f"The model '{name}' says it takes {in_channels} channels but its input has {declared}."
        )
    fixed = [d for d in shape[2:] if isinstance(d, int)]
    if fixed:
        raise ModelError(
            f"The model '{name}' only accepts a fixed {shape[3]}x{shape[2]} input; "
            "tiling needs a model with free height and width."
        )
    channel_choices = [in_channels] if in_channels else [3, 1]
    multiples = [meta["size_multiple"]] if "size_multiple" in meta else _CANDIDATE_MULTIPLES
    found = _trial(session, channel_choices, multiples)
    if found is None:
        raise ModelError(
            f"The model '{name}' failed a trial run on small RGB images; "
            "it does not look like a single-image super-resolution model."
        )
    channels, multiple, scale, out_channels = found
    if "scale" in meta and meta["scale"] != scale:
        raise ModelError(
            f"The model '{name}' says it upscales x{meta['scale']} but a trial run gave x{scale}."
        )
    if "out_channels" in meta and meta["out_channels"] != out_channels:
        raise ModelError(
            f"The model '{name}' says it outputs {meta['out_channels']} channels "
            f"but a trial run gave {out_channels}."
        )
    if out_channels != channels:
        raise ModelError(
            f"The model '{name}' turns {channels} channels into {out_channels}; "
            "an image model must keep the channel count."
        )
    known = {PREFIX + k for k in _ALL_KEYS}
    extra = tuple(sorted((k, v) for k, v in session.metadata.items() if k not in known))
    return ModelInfo(
        # The file stem is only a display label; no property is ever read from the name.
        name=meta.get("name") or session.path.stem,
        scale=scale,
        in_channels=channels,
        out_channels=out_channels,
        size_multiple=multiple,
        receptive_field=meta.get("receptive_field", DEFAULT_RECEPTIVE_FIELD),
        version=meta.get("version", "unknown"),
        license=meta.get("license", "unknown"),
        description=meta.get("description", ""),
        tile_safe=meta.get("tile_safe", True),
        path=str(session.path),
        extra=extra,
        partner=meta.get("partner", ""),
        strength=meta.get("strength"),
    )


_ALL_KEYS = (*_INT_KEYS, *_TEXT_KEYS, "tile_safe", "strength")


def _parse_metadata(session: ModelSession) -> dict:
    """The pocketsr.* metadata, typed; a malformed value is a ModelError."""
    meta: dict = {}
    for key, raw in session.metadata.items():
        if not key.startswith(PREFIX):
            continue
        field = key[len(PREFIX) :]
        value = raw.strip()
        if field in _INT_KEYS:
            try:
                number = int(value)
            except ValueError:
                number = 0
            if number < 1 or str(number) != value:
                raise ModelError(
                    f"The model '{session.path.name}' has an invalid {key} = {raw!r} "
                    "(a positive whole number is expected)."
                )
            meta[field] = number
        elif field == "tile_safe":
            lowered = value.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ModelError(
                    f"The model '{session.path.name}' has an invalid {key} = {raw!r} "
                    "(true or false is expected)."
                )
            meta[field] = lowered in ("true", "1", "yes")
        elif field == "strength":
            try:
                number = float(value)
            except ValueError:
                number = -1.0
            if not 0.0 <= number <= 1.0:
                raise ModelError(
                    f"The model '{session.path.name}' has an invalid {key} = {raw!r} "
                    "(a number from 0, the fidelity end, to 1, the detail end, is expected)."
                )
            meta[field] = number
        elif field in _TEXT_KEYS:
            meta[field] = raw
    return meta


def _trial(
    session: ModelSession, channel_choices: list[int], multiples: tuple[int, ...] | list[int]
) -> tuple[int, int, int, int] | None:
    """(in_channels, size_multiple, scale, out_channels) from the first trial run that works."""
    rng = np.random.default_rng(7)
    name = session.path.name
    for channels in channel_choices:
        for m in multiples:
            k = -(-_MIN_TRIAL // m)
            k += 1 - k % 2  # odd, so a smaller power-of-two multiple cannot pass by accident
            h, w = m * k, m * (k + 2)  # not square, so swapped axes show
            x = rng.random((1, channels, h, w), dtype=np.float32)
            try:
                y = session.run(x)
            except OutOfMemoryError:
                raise
            except ModelError:
                continue
            if y.ndim != 4 or y.shape[0] != 1:
                raise ModelError(
                    f"The model '{name}' returned a {y.ndim}-D output {list(y.shape)}; "
                    "a 4-D N×C×H×W image is expected."
                )
            sy, sx = y.shape[2] / h, y.shape[3] / w
            if sy != sx or sy != int(sy) or sy < 1:
                raise ModelError(
                    f"The model '{name}' turns {w}x{h} into {y.shape[3]}x{y.shape[2]}: "
                    "not a whole-number upscale factor, the same on both axes."
                )
            if not np.isfinite(y).all():
                raise ModelError(f"The model '{name}' produced NaN or infinite values in a trial.")
            return channels, m, int(sy), int(y.shape[1])
    return None
