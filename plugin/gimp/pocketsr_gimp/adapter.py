# -*- coding: utf-8 -*-
"""The one code path of the GIMP plug-ins: pixels out of GIMP, through the engine, back in.

Order matters for "nothing half-made": the engine runs to completion BEFORE the image is
touched (GIMP's Cancel kills the plug-in, and the engine worker dies with it, so a cancel
during the long part leaves the image exactly as it was). Only then, in one undo group, is
the image scaled and the result written.
"""

from __future__ import absolute_import, division

import collections

from pocketsr_gimp.geometry import Rect, scaled
from pocketsr_gimp.options import Options, OptionsError

Outcome = collections.namedtuple("Outcome", "ok message image layer")

INDEXED_MESSAGE = (
    "PocketSR Upscale works on RGB and grayscale images, and this image is indexed. "
    u"Convert it with Image \u2192 Mode \u2192 RGB, then run the filter again.")

_ADVICE = {
    "config": "Run the PocketSR installer again (it writes the plug-in config), or set "
              "POCKETSR_PYTHON to the engine's Python.",
    "worker_start": "Run the PocketSR installer again to repair the engine.",
    "worker_crashed": "Try a smaller tile size or region; the engine log has the details.",
    "timeout": "Try a smaller tile size or region.",
    "version_mismatch": "Install the plug-in and the engine from the same PocketSR release.",
}


def explain(exc, what):
    """A user sentence for a bridge error: what failed, why, and what to do."""
    text = "PocketSR could not upscale %s: %s" % (what, exc)
    advice = _ADVICE.get(getattr(exc, "code", None))
    if advice and advice not in text:
        text += " " + advice
    log_path = getattr(exc, "log_path", None)
    if log_path:
        text += " (Engine log: %s)" % log_path
    return text


def _region(host, image, drawable, desc):
    """(region, box): what to upscale in layer pixels, and the selection's part of it (None
    without a selection); OptionsError when the selection misses the layer."""
    box = host.selection_box(image, drawable)
    layer_rect = Rect(0, 0, desc.width, desc.height)
    region = layer_rect if box is None else box.intersect(layer_rect)
    if region.is_empty:
        raise OptionsError("The selection does not touch the layer %s: select part of it, "
                           u"or Select \u2192 None, then run the filter again." % desc.name)
    return region, None if box is None else region


def preview(host, bridge, engine, image, drawable, values):
    """The dialog's Preview of upscaling the drawable as `values` ask (reads only).

    engine: a connected bridge; raises OptionsError or the bridge's errors.
    """
    options = Options.from_values(values)
    desc = host.describe(drawable)
    if desc.kind == "indexed":
        raise OptionsError(INDEXED_MESSAGE)
    _, box = _region(host, image, drawable, desc)
    opts = bridge.wire.UpscaleOptions.from_wire(options.upscale_options())
    return bridge.render_preview(
        engine, lambda rect: host.read(drawable, rect, desc),
        bridge.wire.Size(desc.width, desc.height), desc.channels, desc.dtype,
        None if box is None else bridge.wire.Rect(*box), opts)


def run(host, bridge, image, drawable, values, engine=None):
    """Upscale the drawable (or its selection) as `values` ask; returns an Outcome.

    host: a Host; bridge: the pocketsr_bridge module; values: {argument name: value};
    engine: a connected bridge to use (the dialog's), else one is connected and closed.
    Failures are reported with host.message and an Outcome with ok=False; the image is then
    unchanged.
    """
    try:
        options = Options.from_values(values)
    except OptionsError as exc:
        return _fail(host, str(exc))
    desc = host.describe(drawable)
    if desc.kind == "indexed":
        return _fail(host, INDEXED_MESSAGE)
    try:
        region, box = _region(host, image, drawable, desc)
    except OptionsError as exc:
        return _fail(host, str(exc))
    what = "the layer %s" % desc.name
    own_engine = engine is None
    try:
        try:
            if own_engine:
                engine = bridge.connect()
            # The engine says what to read (the box plus its model's context) and what it gives.
            plan = engine.plan(desc.width, desc.height, desc.channels, roi=box,
                               options=options.upscale_options())
        except bridge.BridgeError as exc:
            return _fail(host, explain(exc, what))
        out = plan.output
        host.progress(text=u"PocketSR: upscaling %s (%dx%d \u2192 %dx%d)" % (
            desc.name, region.width, region.height, out.width, out.height), fraction=0.0)
        try:
            result = _run_engine(host, bridge, engine, drawable, desc, plan, box, options)
        except bridge.BridgeError as exc:
            return _fail(host, explain(exc, what))
    finally:
        if own_engine and engine is not None:
            engine.close()
    host.progress(text="PocketSR: writing the result", fraction=0.97)
    made = _apply(host, image, drawable, desc, options, plan, box, result)
    host.progress(fraction=1.0)
    return Outcome(True, "", made[0], made[1])


def _fail(host, message):
    host.message(message)
    return Outcome(False, message, None, None)


def _run_engine(host, bridge, engine, drawable, desc, plan, box, options):
    """The engine's output pixels (bytes) for the plan's region, sent with its context."""
    pixels = host.read(drawable, plan.read, desc)

    def on_progress(p):
        if p.total:
            left = bridge.wire.time_left_text(p.eta)
            host.progress(text=u"PocketSR: upscaling %s, tile %d of %d%s" % (
                desc.name, p.done, p.total, (", " + left) if left else ""),
                fraction=0.95 * p.done / p.total)

    result = engine.upscale(
        pixels, plan.read.width, plan.read.height, desc.channels, desc.dtype,
        roi=tuple(plan.roi) if box else None,
        options=options.upscale_options(size=plan.output, model=plan.model),
        on_progress=on_progress)
    if (result.width, result.height) != (plan.output.width, plan.output.height):
        raise bridge.ProtocolError("The engine returned %dx%d pixels where %dx%d were asked." % (
            result.width, result.height, plan.output.width, plan.output.height))
    return result.data


def _apply(host, image, drawable, desc, options, plan, box, data):
    """Put the result into GIMP as `options.output` says; returns (image, layer)."""
    fx, fy = plan.factors
    out = plan.placement
    name = u"%s \u00d7%s (PocketSR)" % (desc.name, _factor_text(fx, fy))
    if options.output == "new-image":
        new = host.new_image(desc, name, out.width, out.height, data)
        return new, None
    image_w, image_h = host.image_size(image)
    ox, oy = host.offsets(drawable)
    new_size = (scaled(image_w, fx), scaled(image_h, fy))
    if options.output == "replace":
        host.undo_group(image, True)
        try:
            host.scale_image(image, new_size[0], new_size[1])
            host.write(drawable, out, desc, data)
        finally:
            host.undo_group(image, False)
        return image, drawable
    layer = host.make_layer(image, desc, name, out.width, out.height, data)
    host.undo_group(image, True)
    try:
        try:
            host.scale_image(image, new_size[0], new_size[1])
        except Exception:
            host.delete_layer(layer)
            raise
        host.insert_layer(image, layer, drawable, scaled(ox, fx) + out.x, scaled(oy, fy) + out.y)
        if box is not None:
            host.mask_with_selection(layer)
    finally:
        host.undo_group(image, False)
    return image, layer


def _factor_text(fx, fy):
    """'4' for a whole factor, '2.5' otherwise, '2.5x3' for two."""
    def one(f):
        return ("%d" % f) if f == int(f) else ("%.3g" % f)
    return one(fx) if fx == fy else "%sx%s" % (one(fx), one(fy))
