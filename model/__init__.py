"""PocketSR model."""
