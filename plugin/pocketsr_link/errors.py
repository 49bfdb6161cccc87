# -*- coding: utf-8 -*-
"""The bridge's exceptions: each has a stable `code` and a sentence for the user."""

from __future__ import absolute_import

from . import wire


class BridgeError(Exception):
    """Base of every bridge error: `code` is stable, str() is a sentence for the user."""

    code = "bridge"

    def __init__(self, message, code=None, log_path=None):
        Exception.__init__(self, message)
        self.message = message
        if code is not None:
            self.code = code
        self.log_path = log_path


class ConfigError(BridgeError):
    """The plug-in configuration is missing or wrong (e.g. no engine Python at that path)."""

    code = "config"


class WorkerStartError(BridgeError):
    """The engine worker could not be started or did not greet us."""

    code = "worker_start"


class VersionMismatchError(BridgeError):
    """The plug-in and the engine speak different protocol versions."""

    code = wire.VERSION_MISMATCH


class ProtocolError(BridgeError):
    """The worker sent garbage, a truncated frame, or an unexpected message."""

    code = wire.PROTOCOL_ERROR


class WorkerCrashedError(BridgeError):
    """The worker died (crash, kill, out of memory); the next request starts a new one."""

    code = "worker_crashed"

    def __init__(self, message, returncode=None, log_path=None):
        BridgeError.__init__(self, message, log_path=log_path)
        self.returncode = returncode


class WorkerTimeoutError(BridgeError):
    """The worker did not answer in time and was stopped."""

    code = "timeout"


class CancelledError(BridgeError):
    """The job was cancelled; the host's image is untouched."""

    code = wire.CANCELLED


class EngineError(BridgeError):
    """The engine refused or failed the job; `code` is the engine's (invalid_image, model...)."""

    code = "engine"


def from_error_frame(header, log_path=None):
    """The exception for a worker's error frame; keeps the engine's code and sentence."""
    code = header.get("code", "engine")
    message = header.get("message") or "The engine reported an error."
    if code == wire.CANCELLED:
        return CancelledError(message, log_path=log_path)
    if code == wire.PROTOCOL_ERROR:
        return ProtocolError(message, log_path=log_path)
    exc = EngineError(message, code=code, log_path=log_path)
    exc.header = header
    return exc
