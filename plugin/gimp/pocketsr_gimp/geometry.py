# -*- coding: utf-8 -*-
"""The GIMP side's geometry: the wire's Rect and Size, and GIMP's rounding when it scales.

What to read around a selection, the factor and the output's size and place are the
engine's answer to a plan request (bridge.plan): none of that is computed here.
"""

from __future__ import absolute_import, division

import os
import sys

try:
    from pocketsr_link.wire import Rect, Size
except ImportError:  # run from a checkout: the package is plugin/pocketsr_link
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))))
    from pocketsr_link.wire import Rect, Size

__all__ = ["Rect", "Size", "scaled"]


def scaled(value, factor):
    """value * factor rounded to the nearest integer (what GIMP does to offsets and sizes)."""
    return int(round(value * factor))
