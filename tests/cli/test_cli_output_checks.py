"""Output problems are found before the first tile; working files of killed runs are cleaned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pocketsr.engine import cli, upscaler


def _src(tmp_path: Path, side: int = 16) -> Path:
    path = tmp_path / "in.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (side, side, 3), np.uint8)).save(path)
    return path


@pytest.fixture
def no_upscale(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls into the engine's upscale: the checks must come before any."""
    calls: list[int] = []
    real = upscaler.Upscaler.upscale

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(upscaler.Upscaler, "upscale", counted)
    return calls


def test_a_name_near_the_limit_is_written(tmp_path: Path, sr_model_x2: Path) -> None:
    out = tmp_path / ("n" * 246 + ".png")  # 250 bytes: the old working name was 265
    code = cli.main(["upscale", str(_src(tmp_path)), "-o", str(out), "--model", str(sr_model_x2),
                     "-q"])  # fmt: skip
    assert code == 0 and out.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["in.png", out.name])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("n" * 300 + ".png", "bytes long"),
        ("out.xyz", "not an image format"),
        ("afile/out.png", "is a file, not a folder"),
        ("afile/sub/out.png", "cannot make the folder"),
        ("adir", "not an image format"),
    ],
)
def test_output_problems_are_found_before_any_tile(
    tmp_path: Path,
    sr_model_x2: Path,
    no_upscale: list[int],
    capsys: pytest.CaptureFixture[str],
    target: str,
    message: str,
) -> None:
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "adir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    src = _src(tmp_path)
    code = cli.main(["upscale", str(src), "-o", str(tmp_path / target), "--model",
                     str(sr_model_x2), "-q"])  # fmt: skip
    assert code == 1 and message in capsys.readouterr().err
    assert no_upscale == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "in.png"])


def _dead_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid += 1
    return pid


def test_working_files_of_a_dead_run_are_removed_and_others_kept(
    tmp_path: Path, sr_model_x2: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    dead = [out / f".pocketsr-{_dead_pid()}-abc123.part", out / f".pocketsr-{_dead_pid()}-x.raw"]
    kept = [out / ".holiday.jpg.part", out / f".pocketsr-{os.getpid()}-live.part", out / "a.raw"]
    for path in dead + kept:
        path.write_bytes(b"x" * 1000)
        os.utime(path, (time.time() - 60, time.time() - 60))
    code = cli.main(["upscale", str(_src(tmp_path)), "--out-dir", str(out), "--model",
                     str(sr_model_x2), "-q"])  # fmt: skip
    assert code == 0
    assert "removed 2 working file(s)" in capsys.readouterr().err
    assert not any(p.exists() for p in dead) and all(p.exists() for p in kept)


@pytest.mark.slow
def test_a_killed_streamed_write_is_cleaned_by_the_next_run(
    tmp_path: Path, sr_model_x2: Path
) -> None:
    src = _src(tmp_path, side=1500)
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "pocketsr.engine.cli", "upscale", str(src), "--out-dir",
           str(out), "--model", str(sr_model_x2), "--in-memory-limit", "1", "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not list(out.glob(".pocketsr-*.raw")):
        time.sleep(0.01)
    assert list(out.glob(".pocketsr-*.raw")), "the streamed write never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert list(out.iterdir()), "a SIGKILL leaves the working files behind"
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "working file(s) that an interrupted earlier run left" in again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["in_x2.png"]


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 2 MB tmpfs (needs root); skipped with the reason otherwise."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("ext", ["tif", "png"])
@pytest.mark.parametrize("budget", ["1", "1024"])  # streamed to disk / built in memory
def test_a_full_disk_is_a_sentence_and_leaves_nothing(
    tmp_path: Path, sr_model_x2: Path, tiny_disk: Path, budget: str, ext: str
) -> None:
    src = _src(tmp_path, side=600)  # x2: 1200x1200x3 = 4.3 MB raw, on a 2 MB disk
    cmd = [sys.executable, "-m", "pocketsr.engine.cli", "upscale", str(src), "-o",
           str(tiny_disk / f"out.{ext}"), "--model", str(sr_model_x2), "--in-memory-limit", budget,
           "-q"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "is full" in done.stderr and "MB needed" in done.stderr, done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    assert list(tiny_disk.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("budget", ["1", "1024"])  # streamed write / in-memory write
def test_sigkill_at_random_moments_never_leaves_a_partial_output(
    tmp_path: Path, sr_model_x2: Path, budget: str
) -> None:
    import random

    src = _src(tmp_path, side=700)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "in_x2.png"
    cmd = [sys.executable, "-m", "pocketsr.engine.cli", "upscale", str(src), "--out-dir",
           str(out), "--model", str(sr_model_x2), "--in-memory-limit", budget, "-q"]  # fmt: skip
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    whole = time.monotonic() - start
    reference = np.asarray(Image.open(target))
    target.unlink()
    rng = random.Random(20261201)
    outcomes = {"absent": 0, "whole": 0}
    for _ in range(20):
        proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, whole))
        proc.kill()
        proc.wait(timeout=30)
        if target.exists():  # finished before the kill: it must be the whole image
            assert np.array_equal(np.asarray(Image.open(target)), reference)
            outcomes["whole"] += 1
            target.unlink()
        else:
            outcomes["absent"] += 1
        assert not [p for p in out.iterdir() if not p.name.startswith(".pocketsr-")]
    # The next run removes whatever the killed ones left and writes the image.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["in_x2.png"], outcomes
    assert outcomes["absent"] >= 5, outcomes  # most kills land mid-run
