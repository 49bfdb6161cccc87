# -*- coding: utf-8 -*-
"""The values that cross the wire: Size, Rect, Progress and ModelInfo (tuples underneath).

Standard library only; Python 2.7 and 3. Each has to_wire() / from_wire() for a frame's
JSON header; from_wire() refuses malformed input with WireError, a sentence.
"""

from __future__ import absolute_import, division

import collections
import math

INVALID_OPTION = "invalid_option"  # the code of a malformed value (see wire.py's codes)

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


def time_left_text(seconds):
    """'about 12 s left', 'about 3 min left', or '' while unknown: every host's wording."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 90:
        return "about %d s left" % max(1, int(round(seconds)))
    return "about %d min left" % int(round(seconds / 60.0))


_MODEL_FIELDS = ("name", "scale", "in_channels", "out_channels", "size_multiple",
                 "receptive_field", "version", "license", "description", "tile_safe", "path",
                 "extra", "partner", "strength")


class ModelInfo(collections.namedtuple("ModelInfo", _MODEL_FIELDS)):
    """What a super-resolution model is: read by the engine, the same in every host.

    scale: its native factor; size_multiple: input sides it needs (pads to); receptive_field:
    input pixels one output pixel depends on (across); tile_safe: local (no global
    statistics), so tiles agree; extra: other metadata as (key, value) pairs. partner: the
    name of the model whose weights mix with these by a strength ("" when none); strength:
    where this model sits on that axis (0.0 the fidelity end, 1.0 the detail end; None
    without a partner).
    """

    __slots__ = ()

    def __new__(cls, name, scale, in_channels=3, out_channels=3, size_multiple=1,
                receptive_field=32, version="unknown", license="unknown", description="",
                tile_safe=True, path="", extra=(), partner="", strength=None):
        if strength is not None and not (_is_number(strength) and 0 <= strength <= 1):
            raise WireError("The model %s has an invalid strength %r (0 to 1)." % (name, strength))
        return super(ModelInfo, cls).__new__(
            cls, name, scale, in_channels, out_channels, size_multiple, receptive_field,
            version, license, description, tile_safe, path, tuple(tuple(e) for e in extra),
            partner or "", None if strength is None or not partner else float(strength))

    @property
    def has_strength(self):
        """True when a strength mixes this model's weights with its partner's."""
        return bool(self.partner) and self.strength is not None

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
