"""PocketSR Upscale: the import root; each part lives in its own top-level folder."""

import os
from pkgutil import extend_path

# ONNX Runtime's Linux wheel writes a device id and an event database under ~/.cache/Microsoft
# when it is imported, unless this is set first; an artist's tool sends and records nothing.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

# Run from the checkout's root with a non-editable install, this folder comes first on
# sys.path and would hide the installed sub-packages: let the installed copy join in.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
