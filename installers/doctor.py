"""`pocketsr doctor`: what is installed where, whether the engine starts, and how to fix it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocketsr.installers import engine_env, kritarc, manifest, platforms
from pocketsr.installers.install import KRITA_KEY
from pocketsr.installers.layout import HOSTS
from pocketsr.installers.transaction import is_executable

Say = Callable[[str], None]
# kritarunner first: it reports Krita's version headless, where `krita --version` needs X.
BINARIES = {"gimp": ["gimp-3.0", "gimp"], "gimp2": ["gimp-2.10"], "krita": ["kritarunner", "krita"]}
NAMES = {"gimp": "GIMP 3.0", "gimp2": "GIMP 2.10", "krita": "Krita"}


@dataclass
class Report:
    """Findings: informational lines and problems, each problem with its fix."""

    say: Say
    problems: list[str] = field(default_factory=list)

    def ok(self, text: str) -> None:
        """Something that is as it should be."""
        self.say(f"  ok   {text}")

    def info(self, text: str) -> None:
        """Something worth knowing that is not a problem."""
        self.say(f"  --   {text}")

    def problem(self, text: str, fix: str) -> None:
        """Something wrong, and what to do about it."""
        self.problems.append(text)
        self.say(f"  FAIL {text}\n       fix: {fix}")


def _version_line(cmd: list[str]) -> str:
    """The first line a `--version`-style command prints, or why it did not."""
    # Qt hosts (Krita) try to open a display even for --version: keep them offscreen.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"({exc})"
    noise = ("qt.", "QStandardPaths")
    text = (done.stdout or done.stderr).strip()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(noise)]
    return lines[0] if lines else f"(exit status {done.returncode})"


def check_hosts(report: Report, system: str) -> None:
    """Host programs on PATH, Flatpak apps and profile folders."""
    report.say("Hosts:")
    for host in HOSTS:
        for exe in BINARIES[host]:
            path = shutil.which(exe)
            if path:
                report.info(f"{NAMES[host]}: {path}: {_version_line([path, '--version'])}")
                break
        for target in platforms.candidates(host, system):
            if target.root.is_dir():
                report.info(f"{target.label} profile: {target.root}")
    flatpak = shutil.which("flatpak") if system == "linux" else None
    if flatpak:
        for app in sorted(set(platforms.FLATPAK_IDS.values())):
            line = _version_line([flatpak, "info", app])
            report.info(f"flatpak {app}: {line if 'not installed' not in line else 'absent'}")


def check_install(report: Report, system: str) -> list[dict[str, Any]]:
    """Plug-in files, bits and Krita's switch for every recorded install."""
    report.say("Plug-ins:")
    installs = manifest.all_targets(system)
    if not installs:
        report.problem(
            "PocketSR is not installed in any GIMP or Krita profile.",
            "run `pocketsr install` (or installers/gimp.sh / installers/krita.sh).",
        )
    for _, entry in installs:
        root, host = Path(entry["root"]), entry["host"]
        fix = f"run `pocketsr install --host {host}` again."
        bad = []
        for f in entry.get("files", []):
            path = root / f["path"]
            if not path.is_file():
                bad.append(f"{f['path']} is missing")
            elif f.get("executable") and not is_executable(path):
                bad.append(f"{f['path']} is not executable")
        label = f"{NAMES[host]} ({entry.get('flavour')}) at {root}"
        if bad:
            report.problem(f"{label}: " + "; ".join(bad), fix)
        else:
            n = len(entry.get("files", []))
            report.ok(f"{label}: {n} files, version {entry.get('version')}")
        if "kritarc" in entry:
            path = Path(entry["kritarc"]["path"])
            value = kritarc.current_value(path.read_bytes(), KRITA_KEY) if path.is_file() else None
            if value == b"true":
                report.ok(f"Krita plug-in enabled in {path}")
            else:
                report.problem(
                    f"the Krita plug-in is not enabled in {path}",
                    "tick PocketSR in Settings > Configure Krita > Python Plugin Manager and "
                    "restart Krita, or " + fix,
                )
    return [e for _, e in installs]


def _load_config(report: Report, path: Path) -> dict[str, Any] | None:
    """The plug-in config, or None after reporting why not."""
    fix = "run `pocketsr install` again."
    if not path.is_file():
        report.problem(f"the plug-in config {path} is missing", fix)
        return None
    try:
        cfg = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        report.problem(f"the plug-in config {path} cannot be read: {exc}", fix)
        return None
    if not isinstance(cfg, dict) or not cfg.get("python"):
        report.problem(f"the plug-in config {path} names no engine Python", fix)
        return None
    report.ok(f"plug-in config {path}")
    return cfg


def check_engine(report: Report, cfg: dict[str, Any], model_check: bool = True) -> None:
    """The engine interpreter, a worker start through the bridge and a default-model run."""
    from pocketsr.plugin import bridge

    python = Path(cfg["python"])
    fix = "run `pocketsr install` again (or pass --engine-python PATH)."
    version, why = engine_env.probe(python)
    if version is None:
        report.problem(f"the engine Python {python} cannot run the engine: {why}", fix)
        return
    report.ok(f"engine Python {python} (pocketsr {version})")
    engine = bridge.Bridge(config=cfg, start_timeout=60.0, request_timeout=120.0)
    try:
        info = engine.info()
        names = ", ".join(m.get("name", "?") for m in info.get("models", []))
        report.ok(f"worker started: engine {info.get('engine_version')}, models: {names}")
        if model_check:
            result = engine.upscale(bytes(8 * 8 * 3), 8, 8, 3, "uint8")
            report.ok(f"default model loaded and ran: 8x8 -> {result.width}x{result.height}")
    except bridge.BridgeError as exc:
        log = f" (log: {exc.log_path})" if getattr(exc, "log_path", None) else ""
        report.problem(f"the engine worker failed: {exc}{log}", fix)
    finally:
        engine.close()


def doctor(system: str, say: Say, model_check: bool = True) -> int:
    """Run every check; 0 when all is well, 1 otherwise."""
    report = Report(say)
    check_hosts(report, system)
    installs = check_install(report, system)
    report.say("Engine:")
    configs = sorted({e.get("config") for e in installs if e.get("config")})
    if not configs:
        configs = [str(platforms.config_path(system))]
    loaded = [c for c in (_load_config(report, Path(p)) for p in configs) if c is not None]
    for cfg in {json.dumps(c, sort_keys=True): c for c in loaded}.values():
        check_engine(report, cfg, model_check)
    if report.problems:
        say(f"{len(report.problems)} problem(s) found; see the fixes above.")
        return 1
    say("All is well.")
    return 0
