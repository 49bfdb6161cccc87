"""The engine's own Python: a dedicated virtual environment, or one the user names."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pocketsr
from pocketsr.installers import platforms

PROBE = "import pocketsr, pocketsr.engine, numpy, onnxruntime; print(pocketsr.__version__)"
Say = Callable[[str], None]


class EngineEnvError(Exception):
    """The engine environment could not be made or used."""


@dataclass(frozen=True)
class Engine:
    """The interpreter the plug-ins start the worker with."""

    python: Path
    version: str
    created: Path | None = None  # a venv this run created (removed again on rollback)
    # Folders above a created venv that creating it made (uninstall removes them when empty).
    made_dirs: tuple[Path, ...] = ()


def probe(python: Path, timeout: float = 120.0) -> tuple[str | None, str]:
    """(pocketsr version, "") when `python` can run the engine, else (None, why)."""
    try:
        done = subprocess.run(
            [str(python), "-c", PROBE], capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, lines[-1] if lines else f"exit status {done.returncode}"
    return done.stdout.strip().splitlines()[-1], ""


def source_checkout() -> Path | None:
    """The project folder when this pocketsr runs from a source checkout."""
    root = Path(pocketsr.__file__).resolve().parent.parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "pocketsr"' in pyproject.read_text("utf-8"):
        return root
    return None


def pip_command(python: Path, wheelhouse: Path | None) -> list[str]:
    """The pip command that puts pocketsr and its dependencies into the engine venv."""
    cmd = [str(python), "-m", "pip", "install", "--upgrade", "--disable-pip-version-check"]
    if wheelhouse is not None:
        return [*cmd, "--no-index", "--find-links", str(wheelhouse), "pocketsr"]
    checkout = source_checkout()
    if checkout is not None:
        return [*cmd, str(checkout)]
    return [*cmd, f"pocketsr=={pocketsr.__version__}"]


def _run(cmd: list[str], what: str) -> None:
    """Run a setup command; a failure becomes EngineEnvError quoting its last lines."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise EngineEnvError(f"Could not {what}: {exc}") from exc
    if done.returncode != 0:
        tail = "\n  ".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise EngineEnvError(f"Could not {what} (exit {done.returncode}):\n  {tail}")


def use_existing(python: Path) -> Engine:
    """An interpreter named with --engine-python, checked to import pocketsr.engine."""
    python = Path(python).absolute()
    version, why = probe(python)
    if version is None:
        raise EngineEnvError(
            f"The engine Python {python} cannot run the PocketSR engine ({why}). "
            "Name an interpreter that has pocketsr installed, or leave out --engine-python "
            "to let the installer make its own environment."
        )
    return Engine(python, version)


def ensure_venv(
    system: str, venv: Path, wheelhouse: Path | None, dry_run: bool, say: Say
) -> Engine:
    """The dedicated engine venv: reused when current, else created or upgraded."""
    python = platforms.venv_python(venv, system)
    version, _ = probe(python) if python.exists() else (None, "")
    if version == pocketsr.__version__ and wheelhouse is None:
        say(f"engine: {venv} already has pocketsr {version}")
        return Engine(python, version)
    pip = pip_command(python, wheelhouse)
    if dry_run:
        if not python.exists():
            say(f"would create the engine environment {venv}")
        say("would run: " + " ".join(pip))
        return Engine(python, version or pocketsr.__version__)
    created = None
    made: list[Path] = []
    if not python.exists():
        say(f"engine: creating {venv}")
        created = venv if not venv.exists() else None
        parent = venv.parent
        while not parent.exists():
            made.append(parent)
            parent = parent.parent
        _run([sys.executable, "-m", "venv", str(venv)], f"create the virtual environment {venv}")
    say("engine: " + " ".join(pip))
    try:
        _run(pip, "install pocketsr into the engine environment")
        version, why = probe(python)
        if version is None:
            raise EngineEnvError(f"The new engine environment does not work: {why}")
    except EngineEnvError:
        if created is not None:
            import shutil

            shutil.rmtree(created, ignore_errors=True)
        raise
    return Engine(python, version, created, tuple(reversed(made)))
