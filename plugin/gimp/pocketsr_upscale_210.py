#!/usr/bin/env python2
# -*- coding: utf-8 -*-
"""GIMP 2.10 entry of PocketSR Upscale (gimpfu, Python 2.7): python-fu-pocketsr-upscale.

Same procedure name and arguments as the GIMP 3 entry (output and device are option
indices here, as gimpfu's PF_OPTION wants); the work is pocketsr_gimp.adapter's, through the
gimpfu shim. gimpfu shows the dialog and remembers the last values itself.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from gimpfu import main, register  # noqa: E402

from pocketsr_gimp import MENU_LABEL, MENU_PATH, PROCEDURE, adapter  # noqa: E402
from pocketsr_gimp.bridge_loader import load_bridge  # noqa: E402
from pocketsr_gimp.gimpfu2 import GimpfuHost, params, values_from_args  # noqa: E402


def pocketsr_upscale(image, drawable, *args):
    """Run the shared adapter; failures become a GIMP message (image unchanged)."""
    host = GimpfuHost()
    try:
        bridge = load_bridge(HERE)
    except ImportError as exc:
        host.message(str(exc))
        return
    adapter.run(host, bridge, image, drawable, values_from_args(args))


register(
    PROCEDURE,
    "Upscale the layer or selection with the PocketSR neural network",
    "Upscales the active layer (or the selection's box plus context) with the PocketSR engine "
    "in a separate process; output as a new layer, a new image or in place; one undo step.",
    "PocketSR contributors",
    "PocketSR contributors",
    "2025",
    MENU_LABEL.encode("utf-8") if sys.version_info[0] == 2 else MENU_LABEL,
    "RGB*, GRAY*, INDEXED*",
    params(),
    [],
    pocketsr_upscale,
    menu=MENU_PATH,
)

main()
