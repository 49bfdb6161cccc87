"""PocketSR ui."""
