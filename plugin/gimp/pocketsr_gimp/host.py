# -*- coding: utf-8 -*-
"""The interface the adapter needs from GIMP: the compatibility shim's contract.

gimp3.Gimp3Host and gimpfu2.GimpfuHost implement it; tests may too. Rectangles are
geometry.Rect in the drawable's own pixels unless said otherwise. Pixel data is bytes of
packed rows in the Description's layout.
"""

from __future__ import absolute_import

import collections


class Description(collections.namedtuple(
        "Description", "name kind width height channels dtype format")):
    """A drawable as the adapter sees it.

    kind: "rgb", "gray" or "indexed". channels/dtype: the layout of the pixels the host reads
    and writes (e.g. 4, "uint16"); format: the host's own name for it (a babl format on
    GIMP 3, such as "R'G'B'A u16").
    """

    __slots__ = ()


class Host(object):
    """What the adapter calls; every method is one small host operation."""

    interactive = False

    def describe(self, drawable):
        """The drawable's Description (its precision decides dtype where the host can)."""
        raise NotImplementedError

    def selection_box(self, image, drawable):
        """The selection's bounding box within the drawable, or None when nothing is selected."""
        raise NotImplementedError

    def read(self, drawable, rect, desc):
        """The pixels of rect, as bytes in desc's layout."""
        raise NotImplementedError

    def offsets(self, drawable):
        """The drawable's (x, y) in the image."""
        raise NotImplementedError

    def image_size(self, image):
        """(width, height) of the image."""
        raise NotImplementedError

    def progress(self, text=None, fraction=None):
        """Show progress text and/or a fraction from 0 to 1 in GIMP's progress bar."""
        raise NotImplementedError

    def message(self, text):
        """Tell the user something (a GIMP message)."""
        raise NotImplementedError

    def undo_group(self, image, start):
        """Start (start=True) or end the image's undo group."""
        raise NotImplementedError

    def scale_image(self, image, width, height):
        """Scale the whole image (layers, selection, channels) to width x height."""
        raise NotImplementedError

    def make_layer(self, image, desc, name, width, height, data):
        """A new layer of the image, NOT yet inserted, holding data (desc's layout)."""
        raise NotImplementedError

    def insert_layer(self, image, layer, above, x, y):
        """Insert layer just above the drawable `above`, at image position (x, y)."""
        raise NotImplementedError

    def mask_with_selection(self, layer):
        """Give the layer a mask made from the image's (scaled) selection."""
        raise NotImplementedError

    def delete_layer(self, layer):
        """Drop a layer that was never inserted."""
        raise NotImplementedError

    def write(self, drawable, rect, desc, data):
        """Write data into rect of the drawable through the selection (shadow + merge)."""
        raise NotImplementedError

    def new_image(self, desc, name, width, height, data):
        """A new image of width x height with one layer holding data; shown when interactive."""
        raise NotImplementedError
