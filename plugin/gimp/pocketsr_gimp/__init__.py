# -*- coding: utf-8 -*-
"""PocketSR's GIMP adapter, shared by the GIMP 3 and the GIMP 2.10 plug-in entries.

Runs on Python 2.7 (GIMP 2.10's gimpfu) and 3.x (GIMP 3): no f-strings, no annotations.

    options   the procedure's arguments (one table for both GIMPs) and their checks
    geometry  pure maths: region of interest plus context, the scale factor, placement at xN
    adapter   the one code path: read pixels, call the engine bridge, write the result back
    host      the small interface the adapter talks to (a "shim")
    gimp3     that interface on GIMP 3 (GObject introspection)
    gimpfu2   that interface on GIMP 2.10 (gimpfu, Python 2.7)
    bridge_loader  finds the engine bridge installed next to the plug-in (or in the repo)
"""

PROCEDURE = "python-fu-pocketsr-upscale"
MENU_LABEL = u"PocketSR Upscale\u2026"
MENU_PATH = "<Image>/Filters"
