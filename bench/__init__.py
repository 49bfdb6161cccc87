"""Benchmarks of PocketSR against bicubic, Lanczos and Real-ESRGAN peers (not in the product)."""
