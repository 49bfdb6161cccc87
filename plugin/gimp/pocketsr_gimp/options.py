# -*- coding: utf-8 -*-
"""The procedure's arguments, described once for both GIMPs, and the values' checks.

GIMP 3 turns ARGUMENTS into procedure arguments (and so into its dialog); gimpfu turns them
into register() parameters. Both pass the values back as a dict to Options.from_values().
"""

from __future__ import absolute_import, division

import collections

OUTPUT_MODES = ("new-layer", "new-image", "replace")
OUTPUT_LABELS = {
    "new-layer": u"New layer (image scaled \u00d7N)",
    "new-image": u"New image",
    "replace": u"Replace the layer (image scaled \u00d7N)",
}
DEVICES = ("auto", "cpu", "gpu")
ALPHA_MODES = ("resample", "model")
OUTPUT_LABELS.update({
    "resample": "Resample (smooth edges)",
    "model": u"Through the model (crisp cut-out edges, ×2 time)",
})

Argument = collections.namedtuple("Argument", "name kind label blurb default low high choices")


def _arg(name, kind, label, blurb, default, low=None, high=None, choices=None):
    return Argument(name, kind, label, blurb, default, low, high, choices)


ARGUMENTS = (
    _arg("scale", "int", "Scale", u"Upscale factor (2, 3 or 4; the models are \u00d74). "
         "Ignored when a target width or height is given.", 4, 1, 8),
    _arg("target-width", "int", "Target width", "Width in pixels of the upscaled layer or "
         "selection instead of a factor (0: use the scale; alone, keeps the aspect).", 0, 0,
         262144),
    _arg("target-height", "int", "Target height", "Height in pixels of the upscaled layer or "
         "selection instead of a factor (0: use the scale; alone, keeps the aspect).", 0, 0,
         262144),
    _arg("model", "string", "Model", "Engine model: pocketsr-nano (default, detail), "
         "pocketsr-nano-fidelity, a name from the models folder, or an .onnx path.",
         "pocketsr-nano"),
    _arg("output", "choice", "Output", u"new-layer: scale the image \u00d7N and add the result "
         "as a layer above (masked by the selection); new-image: the result in a new image; "
         u"replace: scale the image \u00d7N and write the result into the layer (through the "
         "selection).", "new-layer", choices=OUTPUT_MODES),
    _arg("tile", "int", "Tile size", "Model window side in input pixels; 0 chooses it from "
         "the memory budget.", 0, 0, 8192),
    _arg("device", "choice", "Device", "auto (GPU when the engine has one), cpu or gpu.",
         "auto", choices=DEVICES),
    _arg("strength", "double", "Strength", "From 0 (fidelity: faithful, least invented "
         "detail) to 1 (detail: cleans noise and JPEG blocks). It mixes the weights of a model "
         "pair (pocketsr-nano and pocketsr-nano-fidelity share this axis) in one run; models "
         "without a partner ignore it.", 1.0, 0.0, 1.0),
    _arg("alpha-mode", "choice", "Alpha", "How transparency is upscaled: resample (smooth) "
         "or through the model (crisp cut-out edges, twice the time).", "resample",
         choices=ALPHA_MODES),
    _arg("seamless", "boolean", "Seamless (tileable texture)", "Wrap around the image "
         "borders instead of mirroring them, so a tileable texture stays tileable.", False),
)


class OptionsError(ValueError):
    """An argument value is out of range; str() is a sentence for the user."""


class Options(collections.namedtuple(
        "Options", "scale target_width target_height model output tile device strength "
                   "alpha_mode seamless")):
    """Checked argument values (names with '_' for '-')."""

    __slots__ = ()

    @classmethod
    def from_values(cls, values):
        """Options from {argument name: value}; missing names take their defaults."""
        picked = {}
        for arg in ARGUMENTS:
            value = values.get(arg.name, arg.default)
            if arg.kind == "int":
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise OptionsError("%s must be a whole number, not %r." % (arg.label, value))
                if not arg.low <= value <= arg.high:
                    raise OptionsError("%s must be from %d to %d (got %d)."
                                       % (arg.label, arg.low, arg.high, value))
            elif arg.kind == "double":
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    raise OptionsError("%s must be a number, not %r." % (arg.label, value))
                if not arg.low <= value <= arg.high:
                    raise OptionsError("%s must be from %g to %g (got %g)."
                                       % (arg.label, arg.low, arg.high, value))
            elif arg.kind == "boolean":
                value = bool(value)
            elif arg.kind == "choice":
                value = str(value or arg.default)
                if value not in arg.choices:
                    raise OptionsError("%s must be one of %s (got %r)."
                                       % (arg.label, ", ".join(arg.choices), value))
            else:
                value = (value or "").strip() or arg.default
            picked[arg.name.replace("-", "_")] = value
        return cls(**picked)

    def upscale_options(self, size=None, model=None):
        """The engine's options (a dict of the wire's UpscaleOptions fields).

        A target width or height wins over the scale (0 on the other side keeps the aspect);
        `size` (the plan's output Size) pins the exact output of the region. The strength
        is left out for a model without a partner (`model`: the plan's ModelInfo, once
        known).
        """
        options = {"model": self.model, "device": self.device,
                   "tile": "auto" if not self.tile else int(self.tile),
                   "alpha_mode": self.alpha_mode, "seamless": self.seamless}
        if model is None or model.has_strength:
            options["strength"] = self.strength
        if size is not None:
            options["size"] = [int(size[0]), int(size[1])]
        elif self.target_width or self.target_height:
            options["size"] = [int(self.target_width), int(self.target_height)]
        else:
            options["scale"] = self.scale
        return options
