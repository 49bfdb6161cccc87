# -*- coding: utf-8 -*-
"""The Host interface on GIMP 2.10 (gimpfu, Python 2.7), and its register() parameters.

GIMP 2.10's Python pixel regions hand plug-ins 8 bits per channel (gimpfu never enables
high precision), so on 2.10 the adapter works in uint8 whatever the image's precision.
"""

from __future__ import absolute_import

import gimpfu
from gimpfu import gimp, pdb

from pocketsr_gimp.geometry import Rect
from pocketsr_gimp.host import Description, Host
from pocketsr_gimp.options import ARGUMENTS, OUTPUT_LABELS


def params():
    """The register() parameter list: image, drawable, then ARGUMENTS in order."""
    out = [(gimpfu.PF_IMAGE, "image", "Input image", None),
           (gimpfu.PF_DRAWABLE, "drawable", "Input layer", None)]
    for arg in ARGUMENTS:
        label = _text(arg.label)
        if arg.kind == "int":
            out.append((gimpfu.PF_SPINNER, arg.name, label, arg.default,
                         (arg.low, arg.high, 1)))
        elif arg.kind == "string":
            out.append((gimpfu.PF_STRING, arg.name, label, arg.default))
        elif arg.kind == "double":
            out.append((gimpfu.PF_SLIDER, arg.name, label, arg.default,
                        (arg.low, arg.high, 0.05)))
        elif arg.kind == "boolean":
            out.append((gimpfu.PF_TOGGLE, arg.name, label, arg.default))
        else:
            labels = [_text(OUTPUT_LABELS.get(c, c)) for c in arg.choices]
            out.append((gimpfu.PF_OPTION, arg.name, label, arg.choices.index(arg.default),
                        labels))
    return out


def values_from_args(args):
    """{argument name: value} from the positional values after image and drawable."""
    values = {}
    for arg, value in zip(ARGUMENTS, args):
        if arg.kind == "choice" and isinstance(value, int):
            value = arg.choices[value] if 0 <= value < len(arg.choices) else None
        values[arg.name] = value
    return values


def _text(value):
    """A str for gimpfu (UTF-8 bytes on Python 2)."""
    if not isinstance(value, str):
        return value.encode("utf-8")
    return value


class GimpfuHost(Host):
    """Host on GIMP 2.10 via gimpfu: pixel regions (8-bit), pdb calls."""

    def describe(self, drawable):
        if drawable.is_indexed:
            kind = "indexed"
        elif drawable.is_gray:
            kind = "gray"
        else:
            kind = "rgb"
        channels = (1 if kind == "gray" else 3) + (1 if drawable.has_alpha else 0)
        name = drawable.name
        if not isinstance(name, type(u"")):  # a UTF-8 str on Python 2
            name = name.decode("utf-8", "replace")
        return Description(name, kind, drawable.width, drawable.height, channels,
                           "uint8", "u8")

    def selection_box(self, image, drawable):
        if not pdb.gimp_selection_bounds(image)[0]:
            return None
        found, x, y, w, h = pdb.gimp_drawable_mask_intersect(drawable)
        return Rect(x, y, w, h) if found else Rect(0, 0, 0, 0)

    def read(self, drawable, rect, desc):
        x, y, w, h = rect
        rgn = drawable.get_pixel_rgn(x, y, w, h, False, False)
        return rgn[x:x + w, y:y + h]

    def offsets(self, drawable):
        return tuple(drawable.offsets)

    def image_size(self, image):
        return image.width, image.height

    def progress(self, text=None, fraction=None):
        if text:
            gimp.progress_init(_text(text))
        if fraction is not None:
            gimp.progress_update(min(1.0, max(0.0, fraction)))

    def message(self, text):
        gimp.message(_text(text))

    def undo_group(self, image, start):
        if start:
            pdb.gimp_image_undo_group_start(image)
        else:
            pdb.gimp_image_undo_group_end(image)

    def scale_image(self, image, width, height):
        if (width, height) != (image.width, image.height):
            pdb.gimp_image_scale(image, width, height)

    def _fill(self, drawable, rect, data, shadow):
        x, y, w, h = rect
        rgn = drawable.get_pixel_rgn(x, y, w, h, True, shadow)
        rgn[x:x + w, y:y + h] = bytes(data)
        drawable.flush()
        if shadow:
            drawable.merge_shadow(True)
        drawable.update(x, y, w, h)

    def make_layer(self, image, desc, name, width, height, data):
        types = {1: gimpfu.GRAY_IMAGE, 2: gimpfu.GRAYA_IMAGE, 3: gimpfu.RGB_IMAGE,
                 4: gimpfu.RGBA_IMAGE}
        layer = gimp.Layer(image, _text(name), width, height, types[desc.channels], 100,
                           gimpfu.NORMAL_MODE)
        self._fill(layer, Rect(0, 0, width, height), data, shadow=False)
        return layer

    def insert_layer(self, image, layer, above, x, y):
        position = pdb.gimp_image_get_item_position(image, above)
        pdb.gimp_image_insert_layer(image, layer, above.parent, position)
        layer.set_offsets(x, y)

    def mask_with_selection(self, layer):
        layer.add_mask(layer.create_mask(gimpfu.ADD_SELECTION_MASK))

    def delete_layer(self, layer):
        pdb.gimp_item_delete(layer)

    def write(self, drawable, rect, desc, data):
        self._fill(drawable, rect, data, shadow=True)

    def new_image(self, desc, name, width, height, data):
        image = gimp.Image(width, height, gimpfu.GRAY if desc.kind == "gray" else gimpfu.RGB)
        image.disable_undo()
        layer = self.make_layer(image, desc, name, width, height, data)
        pdb.gimp_image_insert_layer(image, layer, None, 0)
        image.enable_undo()
        try:
            gimp.Display(image)
        except RuntimeError:  # batch mode: no display
            pass
        return image
