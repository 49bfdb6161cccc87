"""PocketSR engine."""
