# -*- coding: utf-8 -*-
"""Finds the engine bridge: `pocketsr_bridge` next to the installed plug-in, else the repo's."""

from __future__ import absolute_import

import os
import sys


def load_bridge(entry_dir):
    """The bridge module; `entry_dir` is the folder of the plug-in entry file.

    Installed, the bridge is a copy named pocketsr_bridge.py beside the entry. Run from a
    checkout (plugin/gimp/), it is plugin/bridge.py, imported by path.
    """
    if entry_dir not in sys.path:
        sys.path.insert(0, entry_dir)
    try:
        import pocketsr_bridge
        return pocketsr_bridge
    except ImportError:
        pass
    path = os.path.join(os.path.dirname(os.path.abspath(entry_dir)), "bridge.py")
    if not os.path.isfile(path):
        raise ImportError("The PocketSR bridge (pocketsr_bridge.py) is missing next to %s; "
                          "re-run the PocketSR installer." % entry_dir)
    if sys.version_info[0] == 2:
        import imp
        return imp.load_source("pocketsr_bridge", path)
    import importlib.util
    spec = importlib.util.spec_from_file_location("pocketsr_bridge", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pocketsr_bridge"] = module
    spec.loader.exec_module(module)
    return module
