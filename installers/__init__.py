"""PocketSR installers."""
