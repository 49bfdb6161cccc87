"""PocketSR plugin."""
