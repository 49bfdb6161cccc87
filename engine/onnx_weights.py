"""The float weights (graph initializers) of an ONNX file, read without the `onnx` package.

The engine's only dependencies are numpy, onnxruntime, Pillow and tifffile; ONNX Runtime
has no API that hands out a model's weights. An ONNX file is a protobuf message, and only
four of its fields matter here (ModelProto.graph, GraphProto.initializer and TensorProto's
dims, data_type, name and raw_data), so a small reader of the protobuf wire
format does the job.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import ModelError

# Field numbers from onnx.proto.
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_DIMS, _TENSOR_TYPE, _TENSOR_NAME, _TENSOR_RAW = 1, 2, 8, 9
_FLOAT_TYPES = {1: np.dtype("<f4"), 10: np.dtype("<f2")}  # FLOAT, FLOAT16

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class WeightSpan(NamedTuple):
    """Where one float initializer's raw bytes lie in an ONNX file, and what they are."""

    name: str
    dtype: np.dtype
    dims: tuple[int, ...]
    offset: int
    length: int


def weight_spans(data: bytes | memoryview) -> dict[str, WeightSpan]:
    """Name -> WeightSpan of every float32/float16 initializer stored as raw bytes."""
    view = memoryview(data)
    spans: dict[str, WeightSpan] = {}
    try:
        for field, graph in _fields(view, 0, len(view)):
            if field != _MODEL_GRAPH:
                continue
            for inner, tensor in _fields(view, *graph):
                if inner == _GRAPH_INITIALIZER:
                    span = _span(view, *tensor)
                    if span is not None:
                        spans[span.name] = span
    except (IndexError, ValueError) as exc:
        raise ModelError("The model file is not a valid ONNX file.") from exc
    return spans


def read_float_initializers(path: str | Path) -> dict[str, np.ndarray]:
    """Name -> array of every raw float32/float16 initializer of the ONNX file at path."""
    data = Path(path).read_bytes()
    return {name: span_array(data, span) for name, span in weight_spans(data).items()}


def span_array(data: bytes | memoryview, span: WeightSpan) -> np.ndarray:
    """The initializer a span points at, as a native-order array of its shape."""
    raw = np.frombuffer(data, dtype=span.dtype, count=span.length // span.dtype.itemsize,
                        offset=span.offset)  # fmt: skip
    return raw.astype(span.dtype.newbyteorder("="), copy=True).reshape(span.dims)


def with_weights(
    data: bytes, spans: dict[str, WeightSpan], weights: dict[str, np.ndarray]
) -> bytes:
    """A copy of an ONNX file's bytes with these initializers' values replaced in place."""
    out = bytearray(data)
    for name, values in weights.items():
        span = spans[name]
        raw = np.ascontiguousarray(values, dtype=span.dtype).tobytes()
        if len(raw) != span.length:
            raise ModelError(f"The weight {name} has {values.shape}, not {span.dims}.")
        out[span.offset : span.offset + span.length] = raw
    return bytes(out)


def _span(data: memoryview, start: int, end: int) -> WeightSpan | None:
    """The WeightSpan of a raw float TensorProto; None for other types or storage."""
    dims: list[int] = []
    dtype_code = name = raw = None
    for field, value in _fields(data, start, end):
        if field == _TENSOR_DIMS:
            dims.extend(_varints(data, *value) if isinstance(value, tuple) else [value])
        elif field == _TENSOR_TYPE:
            dtype_code = value
        elif field == _TENSOR_NAME:
            name = bytes(data[value[0] : value[1]]).decode("utf-8")
        elif field == _TENSOR_RAW:
            raw = value
    dtype = _FLOAT_TYPES.get(dtype_code)  # type: ignore[arg-type]
    if dtype is None or name is None or raw is None:
        return None  # float_data, external data or not a float: not a weight to blend
    return WeightSpan(name, dtype, tuple(dims), raw[0], raw[1] - raw[0])


def _fields(data: memoryview, start: int, end: int):
    """(field number, value) of a protobuf message in data[start:end]: ints for varints and
    fixed-width fields, (start, end) offsets for length-delimited ones."""
    pos = start
    while pos < end:
        key, pos = _varint(data, pos)
        field, kind = key >> 3, key & 7
        if kind == _VARINT:
            value, pos = _varint(data, pos)
        elif kind == _BYTES:
            length, pos = _varint(data, pos)
            if pos + length > end:
                raise ValueError("truncated field")
            value, pos = (pos, pos + length), pos + length
        elif kind == _FIXED32:
            value, pos = 0, pos + 4
        elif kind == _FIXED64:
            value, pos = 0, pos + 8
        else:
            raise ValueError(f"unsupported wire type {kind}")
        yield field, value


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _varints(data: memoryview, start: int, end: int) -> list[int]:
    """A packed repeated varint field."""
    out, pos = [], start
    while pos < end:
        value, pos = _varint(data, pos)
        out.append(value)
    return out
