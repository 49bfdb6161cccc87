"""The Krita plug-in's exceptions (the scripting API raises these)."""

from __future__ import annotations


class UpscaleError(Exception):
    """The upscale could not be done; str() is the reason, log_lines the worker log's end."""

    def __init__(self, message: str, code: str = "error", log_lines: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.log_lines = list(log_lines or [])


class Cancelled(UpscaleError):
    """The user (or is_cancelled) stopped the job; the document is unchanged."""
