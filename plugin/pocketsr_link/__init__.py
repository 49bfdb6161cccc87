# -*- coding: utf-8 -*-
"""The link from a host to the PocketSR engine, standard library only (Python 2.7 and 3).

Modules, one job each:
    wire      what crosses the wire: Rect, Size, Progress, ModelInfo, UpscaleOptions,
              ReadPlan, message types, error codes (the engine imports it too)
    frames    the frame codec both sides use
    paths     the per-user config and log folders of each platform
    errors    the bridge's exceptions
    process   the worker process from the host's side (start, end, stderr)
    reader    the thread that reads the worker's frames
    client    Bridge: the out-of-process engine
    jobs      one upscale job over a Bridge
    inprocess InProcessEngine: the same API in this process, when configured
    preview   a dialog's 1:1 preview crop (before and after) through the engine

Hosts import the public names from bridge.py (installed as pocketsr_bridge.py).
"""

from __future__ import absolute_import

from .client import BRIDGE_VERSION, Bridge, load_config
from .errors import (BridgeError, CancelledError, ConfigError, EngineError, ProtocolError,
                     VersionMismatchError, WorkerCrashedError, WorkerStartError,
                     WorkerTimeoutError)
from .inprocess import InProcessEngine
from .jobs import UpscaleResult
from .paths import config_path, default_log_dir
from .preview import PREVIEW_SIDE, Preview, render_preview
from .wire import (PROTOCOL_VERSION, ModelInfo, Progress, ReadPlan, Rect, Size, UpscaleOptions,
                   WireError)

__all__ = [
    "BRIDGE_VERSION",
    "PREVIEW_SIDE",
    "PROTOCOL_VERSION",
    "Bridge",
    "BridgeError",
    "CancelledError",
    "ConfigError",
    "EngineError",
    "InProcessEngine",
    "ModelInfo",
    "Preview",
    "Progress",
    "ProgressInfo",
    "ProtocolError",
    "ReadPlan",
    "Rect",
    "Size",
    "UpscaleOptions",
    "UpscaleResult",
    "VersionMismatchError",
    "WireError",
    "WorkerCrashedError",
    "WorkerStartError",
    "WorkerTimeoutError",
    "config_path",
    "connect",
    "default_log_dir",
    "load_config",
    "render_preview",
]

# The name hosts used before the wire module: the same Progress value.
ProgressInfo = Progress


def connect(config=None, **kwargs):
    """A Bridge, or an InProcessEngine when the config says "in_process": true."""
    cfg = load_config() if config is None else dict(config)
    if cfg.get("in_process") is True:
        return InProcessEngine(models_dir=cfg.get("models_dir"), log_dir=cfg.get("log_dir"))
    return Bridge(config=cfg, **kwargs)
