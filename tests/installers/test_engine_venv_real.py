"""One real install: the engine's own virtual environment made by pip, then doctor runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_install_makes_a_working_engine_environment(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".config/GIMP/3.0").mkdir(parents=True)
    (home / ".local/share/krita").mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "POCKETSR_"))},
        "HOME": str(home),
    }
    pocketsr = [sys.executable, "-m", "pocketsr.engine.cli"]
    done = subprocess.run(
        [*pocketsr, "install", "--host", "all"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    engine = home / ".local/share/pocketsr/engine/bin/python"
    assert engine.exists(), done.stdout
    # The engine lives in its own environment, not in the interpreter that ran the installer.
    probe = subprocess.run(
        [str(engine), "-c", "import pocketsr.engine, sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0 and Path(probe.stdout.strip()) == engine.parents[1]
    doctor = subprocess.run(
        [*pocketsr, "doctor"], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "default model loaded and ran" in doctor.stdout
    assert (home / ".config/GIMP/3.0/plug-ins/pocketsr_upscale/pocketsr_upscale.py").exists()
