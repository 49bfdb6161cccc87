"""Install, reinstall, upgrade, uninstall and dry-run across platforms and host layouts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from install_world import EXPECTED, SOURCE_FILES, World, snapshot, write_tree

import pocketsr
from pocketsr.installers import cli, manifest, platforms
from pocketsr.installers.transaction import is_executable

HOSTS = ("gimp", "gimp2", "krita")


def install(world: World, *args: str) -> int:
    """Run `pocketsr install` against the world's fake source tree."""
    argv = ["--source", str(world.source), "--engine-python", sys.executable, *args]
    return cli.install_main(argv)


def installed_files(root: Path) -> set[str]:
    """Every file below a profile folder, relative, as posix text."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_exact_files_bits_config_and_kritarc(world: World) -> None:
    world.make_profiles()
    assert install(world) == 0
    for host in HOSTS:
        root = world.roots[host]
        assert installed_files(root) == set(EXPECTED[host]), host
        for rel, (src, exe) in EXPECTED[host].items():
            assert (root / rel).read_bytes() == (world.source / src).read_bytes()
            assert is_executable(root / rel) == exe, rel
        config = json.loads(world.configs[host].read_text())
        assert config == {
            "python": sys.executable,
            "models_dir": str(world.data / "models"),
            "log_dir": str(platforms.log_dir(world.system)),
            "in_process": False,
            "engine_version": "0.1.0",
        }
    assert (world.data / "models").is_dir()
    assert world.kritarc.read_bytes() == b"[python]\nenable_pocketsr_upscale=true\n"


def test_config_path_is_the_bridges(world: World) -> None:
    from pocketsr.plugin import bridge

    native = {
        "linux": world.home / ".config/pocketsr/plugin.json",
        "windows": world.home / "AppData/Roaming/PocketSR/plugin.json",
        "macos": world.home / "Library/Application Support/PocketSR/plugin.json",
    }
    assert platforms.config_path(world.system) == native[world.system]
    if world.system == "linux":  # the real platform: the bridge's own answer, unpatched
        assert platforms.config_path(world.system) == Path(bridge.config_path())
    assert bridge.sys is sys  # the platform swap is undone


def test_install_twice_is_install_once(world: World, capsys: pytest.CaptureFixture) -> None:
    world.make_profiles()
    assert install(world) == 0
    first = snapshot(world.home)
    capsys.readouterr()
    assert install(world) == 0
    assert snapshot(world.home) == first
    assert "up to date" in capsys.readouterr().out


def test_uninstall_leaves_home_as_before(world: World) -> None:
    world.make_profiles()
    foreign = world.roots["gimp"] / "plug-ins" / "someone_else" / "someone_else.py"
    write_tree(foreign.parent, {foreign.name: "# not ours\n"})
    world.kritarc.parent.mkdir(parents=True, exist_ok=True)
    world.kritarc.write_bytes(b"[General]\r\nfoo=bar\r\n\r\n[python]\r\nenable_other=true\r\n")
    before = snapshot(world.home)
    assert install(world) == 0
    assert snapshot(world.home) != before
    assert cli.uninstall_main([]) == 0
    assert snapshot(world.home) == before


def test_dry_run_changes_nothing(world: World, capsys: pytest.CaptureFixture) -> None:
    world.make_profiles()
    before = snapshot(world.home)
    assert install(world, "--dry-run") == 0
    assert snapshot(world.home) == before
    out = capsys.readouterr().out
    assert "would write" in out and "nothing was changed" in out
    assert install(world) == 0
    after = snapshot(world.home)
    assert cli.uninstall_main(["--dry-run"]) == 0
    assert snapshot(world.home) == after


def test_single_host_and_partial_uninstall(linux: World) -> None:
    linux.make_profiles()
    assert install(linux, "--host", "gimp2") == 0
    assert not (linux.roots["gimp"] / "plug-ins").exists()
    assert install(linux) == 0
    with_gimp2 = snapshot(linux.roots["gimp2"])
    assert cli.uninstall_main(["--host", "krita"]) == 0
    assert installed_files(linux.roots["krita"]) == set()
    assert snapshot(linux.roots["gimp2"]) == with_gimp2
    assert linux.configs["gimp"].is_file()  # still used by the GIMP installs
    assert cli.uninstall_main([]) == 0
    assert not linux.configs["gimp"].exists()
    assert not linux.data.exists()


def test_only_found_profiles_are_used(linux: World, capsys: pytest.CaptureFixture) -> None:
    linux.make_profiles("krita")
    assert install(linux) == 0
    assert not linux.roots["gimp"].exists() and not linux.roots["gimp2"].exists()
    out = capsys.readouterr().out
    assert "skipped GIMP 3.0: no profile folder found" in out


def test_every_profile_found_flatpak_and_native(linux: World, tmp_path: Path) -> None:
    flat = linux.home / ".var/app/org.gimp.GIMP/config/GIMP/3.0"
    flat.mkdir(parents=True)
    linux.make_profiles("gimp")
    assert install(linux, "--host", "gimp") == 0
    for root in (flat, linux.roots["gimp"]):
        assert installed_files(root) == set(EXPECTED["gimp"])
    sandbox_cfg = linux.home / ".var/app/org.gimp.GIMP/config/pocketsr/plugin.json"
    assert json.loads(sandbox_cfg.read_text())["python"] == sys.executable


def test_no_host_found(linux: World, capsys: pytest.CaptureFixture) -> None:
    before = snapshot(linux.home)
    assert install(linux) == 1
    out = capsys.readouterr().out
    assert "No GIMP or Krita profile folder was found" in out and "--profile-dir" in out
    assert snapshot(linux.home) == before


def test_profile_dir_creates_and_uninstall_removes(linux: World, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "GIMP" / "3.0"
    before = snapshot(tmp_path / "home")
    assert install(linux, "--host", "gimp", "--profile-dir", str(target)) == 0
    assert installed_files(target) == set(EXPECTED["gimp"])
    assert cli.uninstall_main(["--host", "gimp", "--profile-dir", str(target)]) == 0
    assert not (tmp_path / "elsewhere").exists()
    assert snapshot(tmp_path / "home") == before


def test_profile_dir_needs_one_gimp(linux: World, capsys: pytest.CaptureFixture) -> None:
    assert install(linux, "--profile-dir", "/nowhere") == 1
    assert "--host gimp" in capsys.readouterr().out


def test_old_version_is_upgraded(
    linux: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    linux.make_profiles()
    before = snapshot(linux.home)
    write_tree(linux.source, {"gimp/pocketsr_gimp/old_module.py": "# gone in 0.1.0\n"})
    monkeypatch.setattr(pocketsr, "__version__", "0.0.9")
    assert install(linux) == 0
    old = linux.roots["gimp2"] / "plug-ins/pocketsr_gimp/old_module.py"
    assert old.is_file()
    monkeypatch.setattr(pocketsr, "__version__", "0.1.0")
    (linux.source / "gimp/pocketsr_gimp/old_module.py").unlink()
    write_tree(linux.source, {"gimp/pocketsr_gimp/adapter.py": "# adapter v2\n"})
    assert install(linux) == 0
    assert not old.exists()
    for host in ("gimp", "gimp2"):
        assert installed_files(linux.roots[host]) == set(EXPECTED[host])
        entry = manifest.load(manifest.target_path(_target(linux, host), "linux"))
        assert entry is not None and entry["version"] == "0.1.0"
    adapter = linux.roots["gimp"] / "plug-ins/pocketsr_upscale/pocketsr_gimp/adapter.py"
    assert adapter.read_text() == "# adapter v2\n"
    assert cli.uninstall_main([]) == 0
    assert snapshot(linux.home) == before


def test_hand_copied_files_are_restored(linux: World) -> None:
    linux.make_profiles("gimp2")
    plug = linux.roots["gimp2"] / "plug-ins"
    write_tree(plug, {"pocketsr_bridge.py": "# a hand-copied old bridge\n"})
    before = snapshot(linux.home)
    assert install(linux, "--host", "gimp2") == 0
    assert (plug / "pocketsr_bridge.py").read_text() == SOURCE_FILES["bridge.py"]
    assert cli.uninstall_main([]) == 0
    assert snapshot(linux.home) == before


def test_python_caches_of_our_files_go_too(linux: World) -> None:
    linux.make_profiles()
    before = snapshot(linux.home)
    assert install(linux) == 0
    pkg = linux.roots["gimp"] / "plug-ins/pocketsr_upscale/pocketsr_gimp"
    write_tree(pkg, {"__pycache__/adapter.cpython-313.pyc": "x"})
    write_tree(linux.roots["gimp2"] / "plug-ins", {"pocketsr_bridge.pyc": "py2 cache"})
    assert cli.uninstall_main([]) == 0
    assert snapshot(linux.home) == before


def test_read_only_profile_nothing_half_installed(
    linux: World, make_readonly, capsys: pytest.CaptureFixture
) -> None:
    linux.make_profiles()
    (linux.roots["krita"] / "pykrita").mkdir()
    make_readonly(linux.roots["krita"] / "pykrita")
    before = snapshot(linux.home)
    assert install(linux) == 1
    out = capsys.readouterr().out
    assert "nothing was installed" in out and "read-only" in out
    assert snapshot(linux.home) == before


def test_read_only_profile_root(linux: World, make_readonly, capsys) -> None:
    linux.make_profiles("gimp")
    make_readonly(linux.roots["gimp"])
    before = snapshot(linux.home)
    assert install(linux, "--host", "gimp") == 1
    assert "Permission denied" in capsys.readouterr().out
    assert snapshot(linux.home) == before


def test_missing_sources_are_named(linux: World, capsys: pytest.CaptureFixture) -> None:
    linux.make_profiles()
    (linux.source / "krita/pocketsr_upscale.desktop").unlink()
    before = snapshot(linux.home)
    assert install(linux) == 1
    assert "pocketsr_upscale.desktop" in capsys.readouterr().out
    assert snapshot(linux.home) == before


def test_bad_engine_python(linux: World, tmp_path: Path, capsys, real_engine) -> None:
    linux.make_profiles()
    argv = ["--source", str(linux.source), "--engine-python", str(tmp_path / "nope")]
    assert cli.install_main(argv) == 1
    assert "cannot run the PocketSR engine" in capsys.readouterr().out
    assert not linux.data.exists()


def test_registered_in_the_pocketsr_command() -> None:
    from pocketsr.engine import cli as engine_cli

    for name in ("install", "uninstall", "doctor"):
        command = engine_cli.EXTERNAL_COMMANDS[name]
        assert command.module == "pocketsr.installers.cli"
        assert callable(getattr(cli, command.function))


def _target(world: World, host: str) -> platforms.Target:
    """The native target of a host in a world."""
    return next(t for t in platforms.candidates(host, world.system) if t.flavour == "native")


def test_uninstall_after_a_created_engine_leaves_home_as_before(
    linux: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folders made for a new engine venv go too (before: an empty data folder stayed)."""
    from pocketsr.installers import engine_env

    def fake_setup(cmd: list[str], what: str) -> None:
        if "venv" in cmd:  # python -m venv DIR: make what it would, without pip
            python = platforms.venv_python(Path(cmd[-1]), linux.system)
            python.parent.mkdir(parents=True)
            python.write_text("#!/bin/sh\n")

    monkeypatch.setattr(engine_env, "_run", fake_setup)
    linux.make_profiles("gimp")
    before = snapshot(linux.home)
    code = cli.install_main(["--source", str(linux.source), "--host", "gimp"])
    assert code == 0 and (linux.data / "engine").is_dir()
    assert cli.uninstall_main(["--host", "gimp"]) == 0
    assert snapshot(linux.home) == before
