"""Fixtures of the real-host tests (marked `hosts`): the Debian trixie chroot with GIMP 3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from hostutil import chroot_ready


@pytest.fixture(scope="session")
def host_chroot() -> None:
    """The chroot is there (built once, cached outside the checkout), else a loud skip."""
    ok, why = chroot_ready()
    if ok:
        return
    if os.environ.get("CI") and os.environ.get("POCKETSR_REQUIRE_HOSTS"):
        pytest.fail(why)
    pytest.skip("real GIMP 3 tests cannot run on this machine: " + why)


@pytest.fixture(scope="session")
def python27() -> str:
    """A real CPython 2.7 (Debian bullseye packages, tests/tools/get_python27.sh)."""
    script = Path(__file__).resolve().parents[1] / "tools" / "get_python27.sh"
    proc = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=600, check=False
    )
    if proc.returncode == 0:
        return proc.stdout.strip().splitlines()[-1]
    message = f"could not obtain Python 2.7 with {script}:\n{proc.stderr[-2000:]}"
    if proc.returncode == 4 and not os.environ.get("CI"):
        pytest.skip("Debian's archive is unreachable, so no Python 2.7: " + message)
    pytest.fail(message)
