# -*- coding: utf-8 -*-
"""Where PocketSR keeps its per-user files on each platform: the one copy of these rules.

Used by the bridge (to find its config and tell the worker where to log), by the engine's
worker (to open its log) and by the installers (to write the config and show the log
folder), each for the platform it asks about. Standard library only; Python 2.7 and 3.
"""

from __future__ import absolute_import

import os
import sys

CONFIG_NAME = "plugin.json"
LOG_NAME = "worker.log"
STDERR_LOG_NAME = "worker-stderr.log"


def current_platform():
    """This machine's sys.platform family: "win32", "darwin" or "linux"."""
    if sys.platform == "win32":
        return "win32"
    if sys.platform == "darwin":
        return "darwin"
    return "linux"


def _home(environ):
    """The user's home: HOME in environ when given, else os.path.expanduser."""
    if environ is not os.environ and environ.get("HOME"):
        return environ["HOME"]
    return os.path.expanduser("~")


def config_path(platform=None, environ=None):
    """The plug-in config file: POCKETSR_CONFIG, else the platform's config folder."""
    env = os.environ if environ is None else environ
    platform = platform or current_platform()
    override = env.get("POCKETSR_CONFIG")
    if override:
        return override
    home = _home(env)
    if platform == "win32":
        base = env.get("APPDATA") or os.path.join(home, "AppData", "Roaming")
        return os.path.join(base, "PocketSR", CONFIG_NAME)
    if platform == "darwin":
        return os.path.join(home, "Library", "Application Support", "PocketSR", CONFIG_NAME)
    base = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return os.path.join(base, "pocketsr", CONFIG_NAME)


def default_log_dir(platform=None, environ=None):
    """The engine's log folder: POCKETSR_LOG_DIR, else the platform's convention."""
    env = os.environ if environ is None else environ
    platform = platform or current_platform()
    override = env.get("POCKETSR_LOG_DIR")
    if override:
        return override
    home = _home(env)
    if platform == "win32":
        base = env.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        return os.path.join(base, "PocketSR", "Logs")
    if platform == "darwin":
        return os.path.join(home, "Library", "Logs", "PocketSR")
    base = env.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return os.path.join(base, "pocketsr", "logs")
