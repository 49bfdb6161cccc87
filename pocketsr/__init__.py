"""PocketSR Upscale: the import root; each part lives in its own top-level folder."""

__version__ = "0.1.0"
