"""The wheel carries the engine, the CLI, the embedded models and the plug-in files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Built from a copy so concurrent builds and the checkout's own build/ never interfere.
_SKIP = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "runs", ".devdata", ".whl", ".gl",
    "__pycache__", ".ruff_cache", ".pytest_cache", ".hypothesis", "demo-output", "tests",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[str], str]:
    """Build the wheel once (no isolation: uses this environment's setuptools): its names, log."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    shutil.copytree(ROOT, source, ignore=_SKIP)
    # What a checkout that has run the plug-ins holds: byte code that must stay out of the wheel.
    for folder in ("plugin", "plugin/gimp/pocketsr_gimp"):
        (source / folder / "__pycache__").mkdir(parents=True, exist_ok=True)
        (source / folder / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"\0")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v"]
    done = subprocess.run(
        [*command, "-w", str(work / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = (work / "dist").glob("pocketsr-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        names.add("entry_points.txt:" + archive.read(entry_points).decode())
    return names, done.stdout + done.stderr


@pytest.fixture(scope="module")
def wheel_names(wheel_build: tuple[set[str], str]) -> set[str]:
    """The names in the wheel (plus one pseudo-name holding entry_points.txt)."""
    return wheel_build[0]


def _expected(folder: str, pattern: str, package: str) -> set[str]:
    base = ROOT / folder
    return {f"{package}/{p.relative_to(base).as_posix()}" for p in base.glob(pattern)}


def test_engine_modules_are_in_the_wheel(wheel_names: set[str]) -> None:
    needed = _expected("engine", "*.py", "pocketsr/engine")
    assert {"pocketsr/engine/cli.py", "pocketsr/engine/imageio.py"} <= needed
    assert needed <= wheel_names, sorted(needed - wheel_names)
    assert "pocketsr/__init__.py" in wheel_names


def test_embedded_models_are_in_the_wheel(wheel_names: set[str]) -> None:
    needed = _expected("engine", "weights/*.onnx", "pocketsr/engine")
    needed |= _expected("engine", "weights/*.md", "pocketsr/engine")
    assert needed <= wheel_names, sorted(needed - wheel_names)


def test_training_configs_and_scripts_are_in_the_wheel(wheel_names: set[str]) -> None:
    needed = _expected("model", "configs/*.toml", "pocketsr/model")
    needed |= _expected("model", "*.sh", "pocketsr/model")
    assert {"pocketsr/model/configs/nano.toml", "pocketsr/model/cpu_recipe.sh"} <= needed
    assert needed <= wheel_names, sorted(needed - wheel_names)


def test_no_byte_code_in_the_wheel(wheel_names: set[str]) -> None:
    stale = sorted(n for n in wheel_names if "__pycache__" in n or n.endswith(".pyc"))
    assert stale == []


def test_the_build_is_quiet_about_packages(wheel_build: tuple[set[str], str]) -> None:
    # setuptools warns when a data folder looks like a package the configuration leaves out.
    log = wheel_build[1]
    assert "absent from the `packages` configuration" not in log, log[-3000:]
    assert "SetuptoolsDeprecationWarning" not in log, log[-3000:]


def test_plugin_files_are_in_the_wheel(wheel_names: set[str]) -> None:
    plugin = ROOT / "plugin"
    needed = {
        f"pocketsr/plugin/{p.relative_to(plugin).as_posix()}"
        for p in plugin.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert needed, "plugin/ is empty"
    assert needed <= wheel_names, sorted(needed - wheel_names)


def test_the_console_script_is_declared(wheel_names: set[str]) -> None:
    # The fixture adds the entry-point listing as one pseudo-name, to keep a single build.
    (listing,) = [n for n in wheel_names if n.startswith("entry_points.txt:")]
    assert "pocketsr = pocketsr.engine.cli:main" in listing
