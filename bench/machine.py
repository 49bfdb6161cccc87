"""What machine a benchmark ran on: CPU model and cores (lscpu), load, Python and packages."""

from __future__ import annotations

import importlib
import os
import platform
import subprocess


def machine(packages: tuple[str, ...] = ("onnxruntime",)) -> dict:
    """The CPU model and cores (lscpu), the load average now, Python's and packages' versions."""
    info: dict = {"python": platform.python_version(), "cores": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "Core(s) per socket", "Thread(s) per core"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    info["load_average_before"] = os.getloadavg()
    for name in packages:
        try:
            info[name] = importlib.import_module(name).__version__
        except ImportError:
            info[name] = None
    return info
