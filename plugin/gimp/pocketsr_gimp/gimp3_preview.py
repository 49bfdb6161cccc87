# -*- coding: utf-8 -*-
"""The GIMP 3 dialog's preview: a 1:1 crop of the upscale under the procedure's arguments,
re-rendered when one changes, with a before/after toggle. It only reads the image."""

from __future__ import absolute_import

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, GLib, Gtk  # noqa: E402

RERENDER_MS = 250  # a slider drag becomes one render after it settles


class DialogPreview(object):
    """Packs the preview into a GimpUi.ProcedureDialog and keeps it up to date.

    render(values) -> a pocketsr_link Preview for {argument name: value}; values() reads
    the dialog's config. A failed render shows its sentence instead of the picture.
    rendered(preview), when given, is called after each successful render.
    """

    def __init__(self, dialog, config, values, render, side=256, rendered=None):
        self._config, self._values, self._render_fn = config, values, render
        self._rendered = rendered
        self.result = None
        self._pending = None
        frame = Gtk.Frame(label="Preview (1:1)")
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=6)
        box.set_border_width(6)
        self.picture = Gtk.Image()
        self.picture.set_size_request(side, side)
        self.before = Gtk.CheckButton(label="Show the original (before)")
        self.status = Gtk.Label(label="Rendering the preview\u2026")
        self.status.set_line_wrap(True)
        self.status.set_max_width_chars(40)
        for widget in (self.picture, self.before, self.status):
            box.pack_start(widget, False, False, 0)
        frame.add(box)
        dialog.get_content_area().pack_start(frame, False, False, 6)
        frame.show_all()
        self.before.connect("toggled", lambda *_: self._show())
        config.connect("notify", self._changed)
        GLib.idle_add(self._render)

    def _changed(self, *_):
        if self._pending is not None:
            GLib.source_remove(self._pending)
        self._pending = GLib.timeout_add(RERENDER_MS, self._render)

    def _render(self):
        self._pending = None
        try:
            self.result = self._render_fn(self._values(self._config))
        except Exception as exc:  # the dialog stays usable; the reason is shown
            self.result = None
            self.picture.clear()
            self.status.set_text("No preview: %s" % exc)
            return False
        if self._rendered is not None:
            self._rendered(self.result)
        region = self.result.region
        self.status.set_text(u"%d\u00d7%d px at %d,%d: %.2f s" % (
            region.width, region.height, region.x, region.y, self.result.seconds))
        self._show()
        return False  # once: GLib sources repeat while they return True

    def _show(self):
        result = self.result
        if result is None:
            return
        data = result.before if self.before.get_active() else result.after
        width, height = result.size
        pixbuf = GdkPixbuf.Pixbuf.new_from_bytes(
            GLib.Bytes.new(data), GdkPixbuf.Colorspace.RGB, True, 8, width, height, width * 4)
        self.picture.set_from_pixbuf(pixbuf)
