# -*- coding: utf-8 -*-
"""Host side of the PocketSR engine: starts `pocketsr worker` and speaks its frame protocol.

Standard library only; runs on Python 2.7 (GIMP 2.10) and Python 3.6+ (GIMP 3, Krita). The
code lives in the package pocketsr_link/ installed beside this file (see its __init__);
this module is the one hosts import.

    from bridge import connect
    engine = connect()                      # reads the plug-in config
    plan = engine.plan(width, height, 4, roi=(x, y, w, h), options={"scale": 2})
    result = engine.upscale(pixels, width, height, 4, "uint8", on_progress=...)
    result.data, result.width, result.height
    engine.close()
"""

from __future__ import absolute_import

import os
import sys

try:  # inside a package (pocketsr.plugin, or Krita's pocketsr_upscale): the sibling package
    from .pocketsr_link import *  # noqa: F403
    from .pocketsr_link import __all__, wire
except (ImportError, ValueError, SystemError):  # a top-level module: the package beside it
    _HERE = os.path.dirname(os.path.abspath(__file__))
    if _HERE not in sys.path:
        sys.path.insert(0, _HERE)
    from pocketsr_link import *  # noqa: F403
    from pocketsr_link import __all__, wire
