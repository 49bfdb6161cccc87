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


# Per platform: (variable naming the base folder or None, the base's default below the home,
# the path below the base).
_CONFIG_RULES = {
    "win32": ("APPDATA", ("AppData", "Roaming"), ("PocketSR", CONFIG_NAME)),
    "darwin": (None, ("Library", "Application Support"), ("PocketSR", CONFIG_NAME)),
    "linux": ("XDG_CONFIG_HOME", (".config",), ("pocketsr", CONFIG_NAME)),
}
_LOG_RULES = {
    "win32": ("LOCALAPPDATA", ("AppData", "Local"), ("PocketSR", "Logs")),
    "darwin": (None, ("Library", "Logs"), ("PocketSR",)),
    "linux": ("XDG_STATE_HOME", (".local", "state"), ("pocketsr", "logs")),
}


def _place(rules, override, platform, environ):
    """The override variable's value, else the platform's rule applied to the environment."""
    env = os.environ if environ is None else environ
    if env.get(override):
        return env[override]
    variable, default, below = rules[platform or current_platform()]
    base = (env.get(variable) if variable else None) or os.path.join(_home(env), *default)
    return os.path.join(base, *below)


def config_path(platform=None, environ=None):
    """The plug-in config file: POCKETSR_CONFIG, else the platform's config folder."""
    return _place(_CONFIG_RULES, "POCKETSR_CONFIG", platform, environ)


def default_log_dir(platform=None, environ=None):
    """The engine's log folder: POCKETSR_LOG_DIR, else the platform's convention."""
    return _place(_LOG_RULES, "POCKETSR_LOG_DIR", platform, environ)
