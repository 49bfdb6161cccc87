"""PocketSR Upscale: the import root; each part lives in its own top-level folder."""

from pkgutil import extend_path

# Run from the checkout's root with a non-editable install, this folder comes first on
# sys.path and would hide the installed sub-packages: let the installed copy join in.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
