"""Fixtures of the installer tests (defined in install_world, shared with the tests)."""

from install_world import *  # noqa: F403
