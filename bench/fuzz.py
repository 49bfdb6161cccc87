"""The long fuzzing mode: coverage-guided (atheris) runs of the image readers and the frame reader.

    pip install atheris
    python -m bench.fuzz readers -atheris_runs=200000
    python -m bench.fuzz frames -atheris_runs=200000

A finding is an exception other than the engine's own errors (or a crash); atheris then writes
the input that caused it to ./crash-*. The suite's short mode is tests/io/test_fuzz_readers.py.
"""

from __future__ import annotations

import contextlib
import io
import sys
import tempfile
import warnings
from pathlib import Path


def _seeds() -> list[bytes]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "io"))
    from test_fuzz_readers import SEEDS  # the same valid files the suite mutates

    return list(SEEDS.values())


def readers_target() -> object:
    """One fuzz input -> a file -> read_image; only PocketSRError is an accepted failure."""
    from pocketsr.engine.errors import PocketSRError
    from pocketsr.engine.imageio import read_image

    folder = Path(tempfile.mkdtemp(prefix="pocketsr-fuzz-"))
    suffixes = (".png", ".jpg", ".webp", ".tif")

    def target(data: bytes) -> None:
        if not data:
            return
        path = folder / f"input{suffixes[data[0] % len(suffixes)]}"
        path.write_bytes(data[1:])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with contextlib.suppress(PocketSRError):
                read_image(path)

    return target


def frames_target() -> object:
    """One fuzz input -> the worker's frame reader; only ProtocolError is accepted."""
    from pocketsr.engine import protocol

    def target(data: bytes) -> None:
        stream = io.BytesIO(data)
        try:
            while protocol.read_frame(stream, lambda header: 1 << 16) is not None:
                pass
        except protocol.ProtocolError:
            pass

    return target


def main(argv: list[str]) -> int:
    """Run one fuzz target under atheris."""
    try:
        import atheris
    except ImportError:
        print("bench.fuzz needs atheris: pip install atheris", file=sys.stderr)
        return 2
    if len(argv) < 2 or argv[1] not in ("readers", "frames"):
        print("usage: python -m bench.fuzz readers|frames [libFuzzer options]", file=sys.stderr)
        return 2
    corpus = Path(tempfile.mkdtemp(prefix="pocketsr-corpus-"))
    if argv[1] == "readers":
        for i, seed in enumerate(_seeds()):
            (corpus / f"seed{i}").write_bytes(bytes([i]) + seed)
    else:
        from pocketsr.engine import protocol

        for i, header in enumerate(({"type": "hello", "protocol": 1}, {"type": "info"})):
            (corpus / f"seed{i}").write_bytes(protocol.encode_header(header, 3) + b"abc")
    target = readers_target() if argv[1] == "readers" else frames_target()
    atheris.instrument_all()  # the engine was imported above (with the seeds): cover it all
    atheris.Setup([argv[0], *argv[2:], str(corpus)], target)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
