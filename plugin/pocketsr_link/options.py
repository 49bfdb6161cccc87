# -*- coding: utf-8 -*-
"""What a host asks of an upscale (UpscaleOptions) and what the engine plans (ReadPlan).

Standard library only; Python 2.7 and 3. The options are checked here once, with one
wording, for every front end (CLI, worker, GIMP, Krita, viewer).
"""

from __future__ import absolute_import

import collections

from .values import ModelInfo, Rect, Size, WireError, _is_int, _is_number, _TEXT

# --- options ----------------------------------------------------------------------------
TILE_AUTO = "auto"
TILE_WHOLE = "whole"
SIZE_OF_REGION = "region"
SIZE_OF_IMAGE = "image"
MAX_TILE = 16384
MAX_SIDE = 1 << 20
ALPHA_RESAMPLE = "resample"
ALPHA_MODEL = "model"
ALPHA_MODES = (ALPHA_RESAMPLE, ALPHA_MODEL)


class UpscaleOptions(collections.namedtuple(
        "UpscaleOptions",
        "model scale size size_of tile device threads strength alpha_mode seamless")):
    """What a host asks of one upscale, checked once with one wording for every front end.

    model: a name or .onnx path (None: the default model). scale: a factor from 1 up to the
    model's, which the engine checks (None: the model's own). size: a target Size instead of
    a scale (0 on one side keeps the aspect); size_of: whether it is the size of the upscaled
    region ("region") or of the whole upscaled image ("image"). tile: "auto" (from the
    memory budget), "whole" (one window) or a window side in input pixels. device: "auto",
    "cpu", "gpu" or a provider name. threads: CPU threads (None: the engine's choice).
    strength: 0 (fidelity) to 1 (detail) for a model with a partner (None: the model's own
    weights). alpha_mode: "resample" (Lanczos) or "model" (the alpha plane through the
    network). seamless: wrap around the image borders (tileable textures).
    """

    __slots__ = ()

    def __new__(cls, model=None, scale=None, size=None, size_of=SIZE_OF_REGION,
                tile=TILE_AUTO, device="auto", threads=None, strength=None,
                alpha_mode=ALPHA_RESAMPLE, seamless=False):
        return super(UpscaleOptions, cls).__new__(
            cls, _check_model(model), _check_scale(scale), _check_size(size),
            _check_choice("size_of", size_of, (SIZE_OF_REGION, SIZE_OF_IMAGE)),
            _check_tile(tile), _check_device(device), _check_threads(threads),
            _check_strength(strength), _check_choice("alpha_mode", alpha_mode, ALPHA_MODES),
            _check_flag("seamless", seamless))

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
    # The upper bound is the model's own factor, which the engine checks with the model.
    if not _is_number(scale) or not 1 <= scale < float("inf"):
        raise WireError("The scale %r is out of range: it must be a number of at least 1."
                        % (scale,))
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


def _check_strength(strength):
    if strength is None:
        return None
    if not _is_number(strength) or not 0 <= strength <= 1:
        raise WireError("The strength must be a number from 0 (fidelity) to 1 (detail), not %r."
                        % (strength,))
    return float(strength)


def _check_flag(name, value):
    if value not in (True, False):  # 0 and 1 pass as well: JSON from older hosts
        raise WireError("The option %s must be true or false, not %r." % (name, value))
    return bool(value)


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
