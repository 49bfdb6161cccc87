# -*- coding: utf-8 -*-
"""The Host interface on GIMP 3 (GObject introspection: Gimp, Gegl), and argument plumbing."""

from __future__ import absolute_import

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GObject  # noqa: E402

from pocketsr_gimp.geometry import Rect  # noqa: E402
from pocketsr_gimp.host import Description, Host  # noqa: E402
from pocketsr_gimp.options import ARGUMENTS, OUTPUT_LABELS  # noqa: E402

_RW = GObject.ParamFlags.READWRITE


def add_arguments(procedure):
    """Declare ARGUMENTS on a Gimp.Procedure (they also make up its dialog)."""
    for arg in ARGUMENTS:
        if arg.kind == "int":
            procedure.add_int_argument(arg.name, arg.label, arg.blurb, arg.low, arg.high,
                                       arg.default, _RW)
        elif arg.kind == "string":
            procedure.add_string_argument(arg.name, arg.label, arg.blurb, arg.default, _RW)
        elif arg.kind == "double":
            procedure.add_double_argument(arg.name, arg.label, arg.blurb, arg.low, arg.high,
                                          arg.default, _RW)
        elif arg.kind == "boolean":
            procedure.add_boolean_argument(arg.name, arg.label, arg.blurb, arg.default, _RW)
        else:
            choice = Gimp.Choice.new()
            for i, nick in enumerate(arg.choices):
                choice.add(nick, i, OUTPUT_LABELS.get(nick, nick), "")
            procedure.add_choice_argument(arg.name, arg.label, arg.blurb, choice, arg.default,
                                          _RW)


def values_from_config(config):
    """{argument name: value} from a Gimp.ProcedureConfig."""
    return dict((arg.name, config.get_property(arg.name)) for arg in ARGUMENTS)


def _sample(precision):
    """(babl component name, numpy-style dtype) for a Gimp.Precision: u8, u16, else float."""
    name = precision.value_name.upper()
    if "_U8_" in name:
        return "u8", "uint8"
    if "_U16_" in name:
        return "u16", "uint16"
    return "float", "float32"  # u32, half, float, double: float keeps them unrounded


class Gimp3Host(Host):
    """Host on GIMP 3: pixels through GEGL buffers at the image's own precision."""

    def __init__(self, interactive=False):
        self.interactive = interactive
        self._precision = None
        self._progress_started = False

    def describe(self, drawable):
        image = drawable.get_image()
        self._precision = image.get_precision()
        comp, dtype = _sample(self._precision)
        alpha = drawable.has_alpha()
        if drawable.is_indexed():
            kind, model = "indexed", "R'G'B'A" if alpha else "R'G'B'"
        elif drawable.is_gray():
            kind, model = "gray", "Y'A" if alpha else "Y'"
        else:
            kind, model = "rgb", "R'G'B'A" if alpha else "R'G'B'"
        channels = len(model.replace("'", ""))
        return Description(drawable.get_name(), kind, drawable.get_width(),
                           drawable.get_height(), channels, dtype, "%s %s" % (model, comp))

    def selection_box(self, image, drawable):
        if Gimp.Selection.is_empty(image):
            return None
        found, x, y, w, h = drawable.mask_intersect()
        return Rect(x, y, w, h) if found else Rect(0, 0, 0, 0)

    def read(self, drawable, rect, desc):
        buf = drawable.get_buffer()
        data = buf.get(Gegl.Rectangle.new(*rect), 1.0, desc.format, Gegl.AbyssPolicy.CLAMP)
        return bytes(data)

    def offsets(self, drawable):
        _, x, y = drawable.get_offsets()
        return x, y

    def image_size(self, image):
        return image.get_width(), image.get_height()

    def progress(self, text=None, fraction=None):
        if not self._progress_started:
            Gimp.progress_init(text or "PocketSR")
            self._progress_started = True
        elif text:
            Gimp.progress_set_text(text)
        if fraction is not None:
            Gimp.progress_update(min(1.0, max(0.0, fraction)))

    def message(self, text):
        Gimp.message(text)

    def undo_group(self, image, start):
        if start:
            image.undo_group_start()
        else:
            image.undo_group_end()

    def scale_image(self, image, width, height):
        if (width, height) != (image.get_width(), image.get_height()):
            image.scale(width, height)

    def _fill(self, drawable, rect, desc, data, shadow):
        buf = drawable.get_shadow_buffer() if shadow else drawable.get_buffer()
        buf.set(Gegl.Rectangle.new(*rect), desc.format, data)
        buf.flush()
        if shadow:
            drawable.merge_shadow(True)
        drawable.update(*rect)

    def make_layer(self, image, desc, name, width, height, data):
        layer = Gimp.Layer.new(image, name, width, height, _layer_type(desc), 100.0,
                               Gimp.LayerMode.NORMAL)
        self._fill(layer, Rect(0, 0, width, height), desc, data, shadow=False)
        return layer

    def insert_layer(self, image, layer, above, x, y):
        image.insert_layer(layer, above.get_parent(), image.get_item_position(above))
        layer.set_offsets(x, y)

    def mask_with_selection(self, layer):
        layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))

    def delete_layer(self, layer):
        layer.delete()

    def write(self, drawable, rect, desc, data):
        self._fill(drawable, rect, desc, data, shadow=True)

    def new_image(self, desc, name, width, height, data):
        base = Gimp.ImageBaseType.GRAY if desc.kind == "gray" else Gimp.ImageBaseType.RGB
        image = Gimp.Image.new_with_precision(width, height, base, self._precision)
        image.undo_disable()
        layer = self.make_layer(image, desc, name, width, height, data)
        image.insert_layer(layer, None, 0)
        image.undo_enable()
        if self.interactive:
            Gimp.Display.new(image)
        return image


def _layer_type(desc):
    """The Gimp.ImageType of a layer holding desc's channels."""
    table = {1: Gimp.ImageType.GRAY_IMAGE, 2: Gimp.ImageType.GRAYA_IMAGE,
             3: Gimp.ImageType.RGB_IMAGE, 4: Gimp.ImageType.RGBA_IMAGE}
    return table[desc.channels]
