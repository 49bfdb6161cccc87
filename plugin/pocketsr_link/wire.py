# -*- coding: utf-8 -*-
"""What crosses the wire between a host and the engine: values, message names, codes.

Standard library only, and the same file runs on Python 2.7 (GIMP 2.10) and 3.x: the engine
(engine/types.py, engine/protocol.py, engine/worker.py) imports these types instead of
defining its own, and the hosts (GIMP, Krita) use them for their geometry, so a rectangle,
a size, a progress report or a model's facts have one shape from the engine to the layer.

The constants are here; the values (values.py) and the options and plans (options.py) are
imported here, so `wire` is the one name to import the vocabulary by.
"""

from __future__ import absolute_import, division

import struct

# --- the frame format (see frames.py) ---------------------------------------------------
PROTOCOL_VERSION = 3
MAGIC = b"PSRF"
PREFIX = struct.Struct(">4sIQ")
MAX_HEADER_BYTES = 1 << 20
# Inline payloads are bounded so a corrupt length cannot make a reader allocate gigabytes.
MAX_INLINE_PAYLOAD = 1 << 31
# Pixel payloads above this travel through a file named in the header.
DEFAULT_FILE_THRESHOLD = 4 << 20
# Payloads are read in chunks of this size: memory grows only with bytes that really arrive.
READ_CHUNK = 1 << 20

# --- message types ----------------------------------------------------------------------
# host -> worker: HELLO, INFO, PLAN, UPSCALE, CANCEL, SHUTDOWN
# worker -> host: HELLO, INFO, PLAN, PROGRESS, RESULT, ERROR, BYE
HELLO = "hello"
INFO = "info"
PLAN = "plan"
UPSCALE = "upscale"
CANCEL = "cancel"
SHUTDOWN = "shutdown"
PROGRESS = "progress"
RESULT = "result"
ERROR = "error"
BYE = "bye"

# --- pixels -----------------------------------------------------------------------------
ITEMSIZE = {"uint8": 1, "uint16": 2, "float16": 2, "float32": 4}
DTYPES = ("uint8", "uint16", "float16", "float32")

# --- error codes: the engine's (engine/errors.py) and the worker's ------------------------
INVALID_IMAGE = "invalid_image"
IMAGE_FILE = "image_file"
MODEL_ERROR = "model"
# INVALID_OPTION = "invalid_option" is defined in values.py (WireError carries it).
OUT_OF_MEMORY = "out_of_memory"
CANCELLED = "cancelled"
VERSION_MISMATCH = "version_mismatch"
PROTOCOL_ERROR = "protocol"
INTERNAL_ERROR = "internal"

# The values and the options live in their own modules; this is the one place to import the
# vocabulary from.
from .values import (  # noqa: E402, F401
    INVALID_OPTION, ModelInfo, Progress, Rect, Size, WireError, time_left_text)
from .options import (  # noqa: E402, F401
    ALPHA_MODEL, ALPHA_MODES, ALPHA_RESAMPLE, MAX_SIDE, MAX_TILE, SIZE_OF_IMAGE, SIZE_OF_REGION,
    TILE_AUTO, TILE_WHOLE, ReadPlan, UpscaleOptions, tile_from_host)
