# -*- coding: utf-8 -*-
"""What crosses the wire between a host and the engine: values, message names, codes.

Standard library only, and the same file runs on Python 2.7 (GIMP 2.10) and 3.x: the engine
(engine/types.py, engine/protocol.py, engine/worker.py) imports these types instead of
defining its own, and the hosts (GIMP, Krita) use them for their geometry, so a rectangle,
a size, a progress report or a model's facts have one shape from the engine to the layer.

Every value is immutable (a tuple underneath) and has to_wire() / from_wire() for the JSON
header of a frame; from_wire() refuses malformed input with WireError, a sentence.
"""

from __future__ import absolute_import, division

import collections
import math
import struct

# --- the frame format (see frames.py) ---------------------------------------------------
PROTOCOL_VERSION = 2
MAGIC = b"PSRF"
PREFIX = struct.Struct(">4sIQ")
MAX_HEADER_BYTES = 1 << 20
# Inline payloads are bounded so a corrupt length cannot make a reader allocate gigabytes.
MAX_INLINE_PAYLOAD = 1 << 31
# Pixel payloads above this travel through a file named in the header.
DEFAULT_FILE_THRESHOLD = 4 << 20
# Payloads are read in chunks of this size: memory grows only with bytes that really arrive.
READ_CHUNK = 1 << 20

# --- message types ----------------------------------------------------------------------
# host -> worker: HELLO, INFO, PLAN, UPSCALE, CANCEL, SHUTDOWN
# worker -> host: HELLO, INFO, PLAN, PROGRESS, RESULT, ERROR, BYE
HELLO = "hello"
INFO = "info"
PLAN = "plan"
UPSCALE = "upscale"
CANCEL = "cancel"
SHUTDOWN = "shutdown"
PROGRESS = "progress"
RESULT = "result"
ERROR = "error"
BYE = "bye"

# --- pixels -----------------------------------------------------------------------------
ITEMSIZE = {"uint8": 1, "uint16": 2, "float16": 2, "float32": 4}
DTYPES = ("uint8", "uint16", "float16", "float32")

# --- error codes: the engine's (engine/errors.py) and the worker's ------------------------
INVALID_IMAGE = "invalid_image"
IMAGE_FILE = "image_file"
MODEL_ERROR = "model"
INVALID_OPTION = "invalid_option"
OUT_OF_MEMORY = "out_of_memory"
CANCELLED = "cancelled"
VERSION_MISMATCH = "version_mismatch"
PROTOCOL_ERROR = "protocol"
INTERNAL_ERROR = "internal"

_INTS = (int,) if str is not bytes else (int, long)  # noqa: F821 - Python 2's long
_TEXT = (str,) if str is not bytes else (basestring,)  # noqa: F821


class WireError(ValueError):
    """A value from the wire (or a caller) is malformed; str() is a sentence for the user."""

    code = INVALID_OPTION


def _is_int(value):
    return isinstance(value, _INTS) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and not isinstance(value, bool)


def _ints(value, count, what):
    """A list/tuple of `count` integers from the wire, else WireError."""
    if not isinstance(value, (list, tuple)) or len(value) != count:
        raise WireError("%s must be a list of %d integers, not %r." % (what, count, value))
    if not all(_is_int(v) for v in value):
        raise WireError("%s must hold whole numbers, not %r." % (what, value))
    return [int(v) for v in value]


class Size(collections.namedtuple("Size", "width height")):
    """A width and height in pixels."""

    __slots__ = ()

    def __new__(cls, width, height):
        if width < 0 or height < 0:
            raise ValueError("a size cannot be negative: %sx%s" % (width, height))
        return super(Size, cls).__new__(cls, width, height)

    @property
    def area(self):
        """Number of pixels."""
        return self.width * self.height

    def scaled(self, fx, fy=None):
        """This size times a factor (or two), rounded to whole pixels, at least 1 each."""
        fy = fx if fy is None else fy
        return Size(max(1, _round(self.width * fx)), max(1, _round(self.height * fy)))

    def to_wire(self):
        """[width, height]."""
        return [self.width, self.height]

    @classmethod
    def from_wire(cls, value, what="a size"):
        """A Size from [width, height]."""
        width, height = _ints(value, 2, what)
        if width < 0 or height < 0:
            raise WireError("%s cannot be negative: %r." % (what, value))
        return cls(width, height)

    def __str__(self):
        return "%dx%d" % (self.width, self.height)


def _round(value):
    """Round half away from zero (the same on Python 2 and 3, unlike round())."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


class Rect(collections.namedtuple("Rect", "x y width height")):
    """An axis-aligned rectangle: top-left corner (x, y) and size (width, height)."""

    __slots__ = ()

    def __new__(cls, x, y, width, height):
        if width < 0 or height < 0:
            raise ValueError(
                "a rectangle cannot have a negative size: %sx%s+%s+%s" % (width, height, x, y))
        return super(Rect, cls).__new__(cls, x, y, width, height)

    @classmethod
    def of_size(cls, size):
        """The rectangle at the origin covering a whole image of this size."""
        return cls(0, 0, size.width, size.height)

    @property
    def right(self):
        """One past the last column."""
        return self.x + self.width

    @property
    def bottom(self):
        """One past the last row."""
        return self.y + self.height

    @property
    def size(self):
        """The rectangle's size."""
        return Size(self.width, self.height)

    @property
    def area(self):
        """Number of pixels covered."""
        return self.width * self.height

    @property
    def is_empty(self):
        """True when the rectangle covers no pixel."""
        return self.width == 0 or self.height == 0

    def intersect(self, other):
        """The overlap of two rectangles (empty, at this one's corner, when they do not meet)."""
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.right, other.right), min(self.bottom, other.bottom)
        if x1 <= x0 or y1 <= y0:
            return Rect(self.x, self.y, 0, 0)
        return Rect(x0, y0, x1 - x0, y1 - y0)

    def contains(self, other):
        """True when the other rectangle lies wholly inside this one."""
        return (other.x >= self.x and other.y >= self.y and other.right <= self.right
                and other.bottom <= self.bottom)

    def expanded(self, margin):
        """This rectangle grown by a margin on every side (not clipped: see intersect)."""
        return Rect(self.x - margin, self.y - margin, self.width + 2 * margin,
                    self.height + 2 * margin)

    def translated(self, dx, dy):
        """This rectangle moved by (dx, dy)."""
        return Rect(self.x + dx, self.y + dy, self.width, self.height)

    def relative_to(self, outer):
        """This rectangle in the coordinates of a rectangle that holds it."""
        return self.translated(-outer.x, -outer.y)

    def scaled(self, factor):
        """This rectangle with every coordinate multiplied by an integer factor."""
        return Rect(self.x * factor, self.y * factor, self.width * factor, self.height * factor)

    @property
    def slices(self):
        """(rows, columns) slices that cut this rectangle out of an H×W array."""
        return slice(self.y, self.bottom), slice(self.x, self.right)

    def to_wire(self):
        """[x, y, width, height]."""
        return [self.x, self.y, self.width, self.height]

    @classmethod
    def from_wire(cls, value, what="a rectangle"):
        """A Rect from [x, y, width, height]."""
        x, y, width, height = _ints(value, 4, what)
        if width < 0 or height < 0:
            raise WireError("%s cannot have a negative size: %r." % (what, value))
        return cls(x, y, width, height)

    def __str__(self):
        return "%dx%d+%d+%d" % (self.width, self.height, self.x, self.y)


class Progress(collections.namedtuple("Progress", "done total elapsed eta rect pixels")):
    """One progress report: tiles done of total, seconds, and the finished output rectangle.

    `pixels` is a view of the finished output pixels of `rect` in the caller's dtype (a numpy
    array inside the engine, bytes in a host, None when not asked for); it never goes into
    to_wire() and does not take part in equality.
    """

    __slots__ = ()

    def __new__(cls, done, total, elapsed, eta=None, rect=None, pixels=None):
        return super(Progress, cls).__new__(cls, done, total, elapsed, eta, rect, pixels)

    @property
    def fraction(self):
        """Share of the work done, 0..1."""
        return 1.0 if self.total == 0 else self.done / self.total

    def with_pixels(self, pixels):
        """The same report carrying other pixels (a copy, a QImage, bytes)."""
        return self._replace(pixels=pixels)

    def _key(self):
        return tuple(self)[:5]

    def __repr__(self):
        return "Progress(done=%r, total=%r, elapsed=%r, eta=%r, rect=%r)" % self._key()

    def __eq__(self, other):
        return isinstance(other, Progress) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def to_wire(self):
        """The fields of a progress frame's header (no type, no id)."""
        return {"done": self.done, "total": self.total, "elapsed": round(self.elapsed, 4),
                "eta": None if self.eta is None else round(self.eta, 4),
                "rect": None if self.rect is None else self.rect.to_wire()}

    @classmethod
    def from_wire(cls, header, pixels=None):
        """A Progress from a progress frame's header."""
        rect = header.get("rect")
        return cls(int(header.get("done", 0)), int(header.get("total", 0)),
                   float(header.get("elapsed", 0.0)), header.get("eta"),
                   None if rect is None else Rect.from_wire(rect, "a progress rectangle"),
                   pixels)


_MODEL_FIELDS = ("name", "scale", "in_channels", "out_channels", "size_multiple",
                 "receptive_field", "version", "license", "description", "tile_safe", "path",
                 "extra")
_MODEL_DEFAULTS = (3, 3, 1, 32, "unknown", "unknown", "", True, "", ())


class ModelInfo(collections.namedtuple("ModelInfo", _MODEL_FIELDS)):
    """What a super-resolution model is: read by the engine, the same in every host.

    scale: its native factor; size_multiple: input sides it needs (pads to); receptive_field:
    input pixels one output pixel depends on (across); tile_safe: local (no global
    statistics), so tiles agree; extra: other metadata as (key, value) pairs.
    """

    __slots__ = ()

    def __new__(cls, name, scale, in_channels=3, out_channels=3, size_multiple=1,
                receptive_field=32, version="unknown", license="unknown", description="",
                tile_safe=True, path="", extra=()):
        return super(ModelInfo, cls).__new__(
            cls, name, scale, in_channels, out_channels, size_multiple, receptive_field,
            version, license, description, tile_safe, path, tuple(tuple(e) for e in extra))

    @property
    def overlap(self):
        """Context in input pixels each tile needs on every side so tiles agree."""
        return max(1, int(math.ceil(self.receptive_field / 2)))

    def to_wire(self):
        """A JSON object of every field."""
        out = dict(zip(_MODEL_FIELDS, self))
        out["path"] = str(self.path)
        out["extra"] = [list(e) for e in self.extra]
        return out

    @classmethod
    def from_wire(cls, value):
        """A ModelInfo from its JSON object (unknown keys are ignored: newer engines)."""
        if not isinstance(value, dict) or not isinstance(value.get("name"), _TEXT):
            raise WireError("A model description must be an object with a name, not %r."
                            % (value,))
        picked = dict((k, value[k]) for k in _MODEL_FIELDS if k in value)
        for key in ("scale", "in_channels", "out_channels", "size_multiple",
                    "receptive_field"):
            if key in picked and not (_is_int(picked[key]) and picked[key] >= 1):
                raise WireError("The model %s has an invalid %s: %r."
                                % (value["name"], key, picked[key]))
        if "scale" not in picked:
            raise WireError("The model %s does not say its scale." % value["name"])
        return cls(**picked)


# --- options ----------------------------------------------------------------------------
TILE_AUTO = "auto"
TILE_WHOLE = "whole"
SIZE_OF_REGION = "region"
SIZE_OF_IMAGE = "image"
MAX_TILE = 16384
MAX_SIDE = 1 << 20


class UpscaleOptions(collections.namedtuple(
        "UpscaleOptions", "model scale size size_of tile device threads")):
    """What a host asks of one upscale, checked once with one wording for every front end.

    model: a name or .onnx path (None: the default model). scale: a factor from 1 up to the
    model's (None: the model's own). size: a target Size instead of a scale (0 on one side
    keeps the aspect); size_of: whether it is the size of the upscaled region ("region") or of
    the whole upscaled image ("image"). tile: "auto" (from the memory budget), "whole" (one
    window) or a window side in input pixels. device: "auto", "cpu", "gpu" or a provider
    name. threads: CPU threads (None: the engine's choice).
    """

    __slots__ = ()

    def __new__(cls, model=None, scale=None, size=None, size_of=SIZE_OF_REGION,
                tile=TILE_AUTO, device="auto", threads=None):
        return super(UpscaleOptions, cls).__new__(
            cls, _check_model(model), _check_scale(scale), _check_size(size),
            _check_choice("size_of", size_of, (SIZE_OF_REGION, SIZE_OF_IMAGE)),
            _check_tile(tile), _check_device(device), _check_threads(threads))

    def to_wire(self):
        """A JSON object (fields at their defaults are left out)."""
        out = {}
        for key, value, default in zip(self._fields, self, UpscaleOptions.__new__.__defaults__):
            if value != default:
                out[key] = value.to_wire() if isinstance(value, Size) else value
        return out

    @classmethod
    def from_wire(cls, value):
        """UpscaleOptions from a JSON object (WireError names the first bad field)."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise WireError("The options must be an object, not %r." % (value,))
        unknown = sorted(set(value) - set(cls._fields))
        if unknown:
            raise WireError("Unknown option %s (known: %s)."
                            % (", ".join(unknown), ", ".join(cls._fields)))
        picked = dict(value)
        if picked.get("size") is not None and not isinstance(picked["size"], Size):
            picked["size"] = Size.from_wire(picked["size"], "The target size")
        try:
            return cls(**picked)
        except ValueError as exc:  # a Size that refused itself
            raise WireError(str(exc))


def _check_model(model):
    if model is None:
        return None
    if not isinstance(model, _TEXT) or not model.strip():
        raise WireError("The model must be a name or a path, not %r." % (model,))
    return model.strip()


def _check_scale(scale):
    if scale is None:
        return None
    if not _is_number(scale) or not (scale == scale) or not 1 <= scale <= 16:
        raise WireError("The scale must be a number from 1 to 16, not %r." % (scale,))
    return scale


def _check_size(size):
    if size is None:
        return None
    if not isinstance(size, Size):
        try:
            size = Size.from_wire(list(size), "The target size")
        except TypeError:
            raise WireError("The target size must be a width and a height, not %r." % (size,))
    if size.width == 0 and size.height == 0:
        raise WireError("A target size needs a width or a height above 0.")
    if size.width > MAX_SIDE or size.height > MAX_SIDE:
        raise WireError("A target size is at most %d pixels a side, not %s." % (MAX_SIDE, size))
    return size


def _check_choice(name, value, choices):
    if value not in choices:
        raise WireError("The option %s must be one of %s, not %r."
                        % (name, ", ".join(choices), value))
    return value


def _check_tile(tile):
    if tile in (TILE_AUTO, TILE_WHOLE):
        return tile
    if not _is_int(tile) or not 16 <= tile <= MAX_TILE:
        raise WireError('The tile size must be "auto", "whole" or a side from 16 to %d pixels, '
                        "not %r." % (MAX_TILE, tile))
    return int(tile)


def _check_device(device):
    if not isinstance(device, _TEXT) or not device.strip():
        raise WireError('The device must be "auto", "cpu", "gpu" or a provider name, not %r.'
                        % (device,))
    return device.strip()


def _check_threads(threads):
    if threads is None:
        return None
    if not _is_int(threads) or not 1 <= threads <= 1024:
        raise WireError("The thread count must be a whole number from 1 to 1024, not %r."
                        % (threads,))
    return int(threads)


def tile_from_host(value):
    """A host dialog's tile field (0 or empty: automatic) as the option's value."""
    if value in (None, "", 0, TILE_AUTO):
        return TILE_AUTO
    return value if value == TILE_WHOLE else int(value)


# --- plans ------------------------------------------------------------------------------
class ReadPlan(collections.namedtuple(
        "ReadPlan", "read roi output placement image_output factors context model")):
    """The engine's answer to "what must I read for this region, and what will I get".

    read: the rectangle of the image to send (the region plus the context the model needs,
    inside the image); roi: the region, relative to `read`; output: the size of the upscaled
    region (what upscale() returns); placement: where that output lands in the upscaled
    image, whose size is image_output; factors: (fx, fy) from image to upscaled image;
    context: input pixels read around the region; model: the ModelInfo that will run.
    """

    __slots__ = ()

    def to_wire(self):
        """A JSON object."""
        return {"read": self.read.to_wire(), "roi": self.roi.to_wire(),
                "output": self.output.to_wire(), "placement": self.placement.to_wire(),
                "image_output": self.image_output.to_wire(), "factors": list(self.factors),
                "context": self.context, "model": self.model.to_wire()}

    @classmethod
    def from_wire(cls, value):
        """A ReadPlan from a plan reply's header."""
        try:
            factors = tuple(float(f) for f in value["factors"])
            return cls(Rect.from_wire(value["read"]), Rect.from_wire(value["roi"]),
                       Size.from_wire(value["output"]), Rect.from_wire(value["placement"]),
                       Size.from_wire(value["image_output"]), factors, int(value["context"]),
                       ModelInfo.from_wire(value["model"]))
        except (KeyError, TypeError) as exc:
            raise WireError("The engine's plan is incomplete (%s)." % (exc,))
