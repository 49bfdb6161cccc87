"""Fixtures of the model tests (defined in model_world, shared with the tests)."""

from model_world import *  # noqa: F403
