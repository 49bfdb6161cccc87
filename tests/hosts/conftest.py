"""Fixtures of the real-host tests (marked `hosts`): the Debian trixie chroot with GIMP 3."""

from __future__ import annotations

import os
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
