#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""GIMP 3 entry of PocketSR Upscale: registers python-fu-pocketsr-upscale under Filters.

The work is done by pocketsr_gimp.adapter (shared with the GIMP 2.10 entry) through the
GIMP 3 shim in pocketsr_gimp.gimp3; the engine runs in a worker process via the bridge.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, GLib  # noqa: E402

from pocketsr_gimp import MENU_LABEL, MENU_PATH, PROCEDURE, adapter  # noqa: E402
from pocketsr_gimp.bridge_loader import load_bridge  # noqa: E402
from pocketsr_gimp.gimp3 import Gimp3Host, add_arguments, values_from_config  # noqa: E402

BLURB = "Upscale the layer or selection with the PocketSR neural network"
HELP = ("Upscales the active layer (or the selection's bounding box plus context) 2-4x with "
        "the PocketSR engine, at the image's own precision (8-bit, 16-bit or float), alpha "
        "kept. Output: new-layer (image scaled xN, result as a layer above, masked by the "
        "selection), new-image, or replace (image scaled xN, result written into the layer "
        "through the selection). One undo step. The engine runs in a separate process "
        "configured by the PocketSR installer (POCKETSR_CONFIG / POCKETSR_PYTHON).")


def _error(procedure, status, message):
    """Return values for a failed run, carrying the message for PDB callers."""
    err = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), message, 0)
    return procedure.new_return_values(status, err)


class PocketSRUpscale(Gimp.PlugIn):
    """The plug-in: one image procedure."""

    def do_query_procedures(self):
        return [PROCEDURE]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label(MENU_LABEL)
        procedure.add_menu_path(MENU_PATH)
        procedure.set_documentation(BLURB, HELP, name)
        procedure.set_attribution("PocketSR contributors", "PocketSR contributors", "2025")
        add_arguments(procedure)
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        interactive = run_mode == Gimp.RunMode.INTERACTIVE
        if len(drawables) != 1:
            message = "PocketSR Upscale works on one layer: select exactly one layer."
            Gimp.message(message)
            return _error(procedure, Gimp.PDBStatusType.CALLING_ERROR, message)
        try:
            bridge = load_bridge(HERE)
        except ImportError as exc:
            Gimp.message(str(exc))
            return _error(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, str(exc))
        host = Gimp3Host(interactive=interactive)
        engine = None
        try:
            if interactive:
                engine = _connect(bridge)
                if not _dialog(procedure, config, host, bridge, engine, image, drawables[0]):
                    return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
            outcome = adapter.run(host, bridge, image, drawables[0], values_from_config(config),
                                  engine=engine)
        finally:
            if engine is not None:
                engine.close()
        if not outcome.ok:
            return _error(procedure, Gimp.PDBStatusType.EXECUTION_ERROR, outcome.message)
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


def _connect(bridge):
    """A connected engine for the dialog's preview and the run, or None (the run then
    connects itself and reports what failed)."""
    try:
        return bridge.connect()
    except bridge.BridgeError:
        return None


def _dialog(procedure, config, host, bridge, engine, image, drawable):
    """Show the procedure's dialog (GIMP keeps the last values) with the preview when the
    engine answers; False when cancelled."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init("pocketsr_upscale")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "PocketSR Upscale")
    strength = dialog.get_scale_entry("strength", 1.0)  # a slider; fill() takes this widget
    dialog.fill(None)
    if engine is not None:
        from pocketsr_gimp.gimp3_preview import DialogPreview

        def render(values):
            return adapter.preview(host, bridge, engine, image, drawable, values)

        def rendered(preview):
            # The model is a free text argument: only the engine knows whether it has a
            # partner to mix with, and the preview's plan has just asked it.
            strength.set_sensitive(preview.model.has_strength)
            strength.set_tooltip_text(None if preview.model.has_strength else
                                      "%s has no partner weights to mix with."
                                      % preview.model.name)

        dialog.preview = DialogPreview(dialog, config, values_from_config, render,
                                       rendered=rendered)
    ok = dialog.run()
    dialog.destroy()
    return ok


if __name__ == "__main__":
    Gimp.main(PocketSRUpscale.__gtype__, sys.argv)
