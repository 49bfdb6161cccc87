"""Strength: one model's weights mixed with its partner's, so one network run gives any
point between the fidelity (0) and the detail (1) weights of one training lineage.

The two ONNX files of a pair share their graph and differ only in their weights. A blend is
the file of the model with its float initializers replaced in place by
(1 - t) * low + t * high, where t is the strength measured from the fidelity end; ONNX
Runtime loads it from bytes with every graph optimisation, as it loads the file itself
(overriding initializers through SessionOptions.add_initializer was measured to be ignored
by ORT_ENABLE_ALL's layout passes, and ORT_ENABLE_BASIC runs the network 1.45-2.5x slower;
bench/controls.py). Strength 0 and 1 reproduce the two models bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import InvalidOptionError, ModelError
from .onnx_weights import span_array, weight_spans, with_weights
from .types import ModelInfo


def check_strength(info: ModelInfo, strength: float) -> float:
    """The strength as a float from 0 to 1, or InvalidOptionError in a sentence."""
    if not info.has_strength:
        raise InvalidOptionError(
            f"The model '{info.name}' has no strength control: it has no partner weights to "
            "mix with (leave the strength out)."
        )
    try:
        value = float(strength)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise InvalidOptionError(
            f"The strength must be a number from 0 (fidelity) to 1 (detail), not {strength!r}."
        )
    return value


def partner_path(info: ModelInfo) -> Path:
    """The partner's file: beside the model first, then wherever the model name resolves."""
    from .model_paths import model_path

    beside = Path(info.path).with_name(f"{info.partner}.onnx")
    if beside.is_file():
        return beside
    try:
        return model_path(info.partner)
    except ModelError:
        raise ModelError(
            f"The model '{info.name}' mixes its weights with '{info.partner}', which is not "
            f"installed beside it ({beside.parent}) or among the models."
        ) from None


class WeightBlend:
    """A model and its partner, ready to give the ONNX bytes of any strength."""

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        own = Path(info.path).read_bytes()
        other_path = partner_path(info)
        other = other_path.read_bytes()
        self._bytes = own
        self._spans = weight_spans(own)
        other_spans = weight_spans(other)
        shapes = {n: (s.dtype, s.dims) for n, s in self._spans.items()}
        if shapes != {n: (s.dtype, s.dims) for n, s in other_spans.items()}:
            raise ModelError(
                f"The models '{info.name}' and '{info.partner}' ({other_path.name}) do not "
                "have the same weights, so they cannot be mixed by a strength."
            )
        own_weights = {n: span_array(own, s) for n, s in self._spans.items()}
        other_weights = {n: span_array(other, s) for n, s in other_spans.items()}
        # Only the weights that differ are mixed; the rest stay as they are in the file.
        names = [n for n in own_weights if not np.array_equal(own_weights[n], other_weights[n])]
        detail_end = info.strength == 1.0
        self._low = {n: (other_weights if detail_end else own_weights)[n] for n in names}
        self._high = {n: (own_weights if detail_end else other_weights)[n] for n in names}

    def model_bytes(self, strength: float) -> bytes:
        """The ONNX file's bytes with the weights of this strength (0 fidelity, 1 detail)."""
        t = np.float32(strength)
        mixed = {
            name: np.float32(1 - t) * low + t * self._high[name] for name, low in self._low.items()
        }
        return with_weights(self._bytes, self._spans, mixed)
