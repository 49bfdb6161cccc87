"""Install and uninstall: plan every file change, print it, then apply it all or nothing."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pocketsr.installers import kritarc, manifest, platforms
from pocketsr.installers.engine_env import Engine
from pocketsr.installers.layout import KRITA_PLUGIN, placements
from pocketsr.installers.platforms import Target
from pocketsr.installers.transaction import Transaction, is_executable, run_staged

Say = Callable[[str], None]
KRITA_KEY = kritarc.key_for(KRITA_PLUGIN)


class InstallError(Exception):
    """The install or uninstall cannot go ahead; nothing was changed."""


@dataclass
class Plan:
    """File changes to make: writes (dest -> bytes, executable) and removals."""

    writes: dict[Path, tuple[bytes, bool]] = field(default_factory=dict)
    removals: list[Path] = field(default_factory=list)
    mkdirs: list[Path] = field(default_factory=list)
    rmdirs: list[Path] = field(default_factory=list)  # after apply, when empty
    rmtrees: list[Path] = field(default_factory=list)  # after apply (our engine venv)

    def write(self, dest: Path, data: bytes, executable: bool = False) -> None:
        """Add a write unless the file already holds exactly this."""
        if dest.is_file() and dest.read_bytes() == data and is_executable(dest) == executable:
            return
        self.writes[dest] = (data, executable)

    @property
    def empty(self) -> bool:
        """True when there is nothing to do."""
        return not (
            self.writes
            or self.removals
            or self.mkdirs
            or self.rmtrees
            or any(d.is_dir() for d in self.rmdirs)
        )

    def describe(self, say: Say, prefix: str) -> None:
        """Print the plan, one change a line."""
        for dest, (_, exe) in self.writes.items():
            say(f"{prefix}write {dest}{' (executable)' if exe else ''}")
        for path in self.mkdirs:
            say(f"{prefix}create folder {path}")
        for path in self.removals:
            say(f"{prefix}remove {path}")
        for path in self.rmtrees:
            say(f"{prefix}remove folder {path}")
        for path in self.rmdirs:
            if path.is_dir():
                say(f"{prefix}remove folder {path} (if empty)")

    def apply(self) -> None:
        """Make the changes atomically, then tidy folders left empty."""

        def stage(tx: Transaction) -> None:
            for d in self.mkdirs:
                tx.ensure_dir(d)
            for dest, (data, exe) in self.writes.items():
                tx.write(dest, data, exe)
            for path in self.removals:
                tx.remove(path)

        run_staged(Transaction(), stage)
        for tree in self.rmtrees:
            shutil.rmtree(tree, ignore_errors=True)
        for d in sorted(set(self.rmdirs), key=lambda p: len(p.parts), reverse=True):
            _remove_if_empty(d)


def _remove_if_empty(path: Path) -> None:
    """Remove a folder once only Python caches are left in it."""
    cache = path / "__pycache__"
    if cache.is_dir() and all(p.suffix == ".pyc" for p in cache.iterdir()):
        shutil.rmtree(cache, ignore_errors=True)
    with contextlib.suppress(OSError):
        path.rmdir()


def _missing_dirs(path: Path) -> list[Path]:
    """Folders that writing a file at `path` would create (outermost first)."""
    out = []
    p = path.parent
    while not p.exists():
        out.append(p)
        p = p.parent
    return list(reversed(out))


def _owns(target: Target, d: Path) -> bool:
    """Whether a created folder belongs to a target (its profile, inside or above it)."""
    return d == target.root or target.root in d.parents or d in target.root.parents


def config_bytes(engine: Engine, system: str) -> bytes:
    """The plug-in config file the bridge reads."""
    data = {
        "python": str(engine.python),
        "models_dir": str(platforms.models_dir(system)),
        "log_dir": str(platforms.log_dir(system)),
        "in_process": False,
        "engine_version": engine.version,
    }
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def _plan_kritarc(plan: Plan, target: Target, old: dict[str, Any] | None) -> dict[str, Any]:
    """Enable the Krita plug-in in kritarc; the manifest entry that undoes it."""
    path = target.kritarc
    assert path is not None
    data = path.read_bytes() if path.is_file() else None
    try:
        new = kritarc.enable(data, KRITA_KEY)
    except kritarc.KritarcError as exc:
        raise InstallError(
            f"Krita's settings file {path} cannot be read safely ({exc}), so nothing was "
            "changed. Fix or delete that line (Krita rewrites the file), or name another "
            "file with --kritarc."
        ) from None
    if old is None:
        previous = kritarc.current_value(data, KRITA_KEY)
        old = {
            "path": str(path),
            "original": None if data is None else data.decode("utf-8"),
            "previous": None if previous is None else previous.decode("utf-8"),
            "added_section": not kritarc.has_section(data),
        }
    if new != data:
        plan.write(path, new)
        old["written"] = manifest.sha256(new)
    return old


def plan_install(
    targets: list[Target], system: str, source_root: Path, engine: Engine, version: str
) -> Plan:
    """Every change an install makes: plug-in files, kritarc, configs, manifests."""
    plan = Plan()
    created: list[Path] = []
    mdir = platforms.manifests_dir(system)
    created += _missing_dirs(mdir / "x")
    target_manifests = []
    for target in targets:
        mpath = manifest.target_path(target, system)
        old = manifest.load(mpath) or {}
        old_files = {f["path"] for f in old.get("files", [])}
        backups = dict(old.get("backups", {}))
        files, new_dirs = [], []
        for p in placements(target.host, source_root):
            dest = target.root.joinpath(*p.dest.parts)
            data = p.source.read_bytes()
            new_dirs += _missing_dirs(dest)
            rel = p.dest.as_posix()
            if dest.is_file() and rel not in old_files and rel not in backups:
                backup = platforms.data_dir(system) / "backups" / mpath.stem / rel
                created += _missing_dirs(backup)
                plan.write(backup, dest.read_bytes(), is_executable(dest))
                backups[rel] = str(backup)
            plan.write(dest, data, p.executable)
            files.append({"path": rel, "sha256": manifest.sha256(data), "executable": p.executable})
        for rel in sorted(old_files - {f["path"] for f in files}):
            stale = target.root / rel
            if stale.exists():
                plan.removals.append(stale)
        entry: dict[str, Any] = {
            "format": manifest.FORMAT,
            "host": target.host,
            "flavour": target.flavour,
            "root": str(target.root),
            "version": version,
            "files": files,
            "backups": backups,
            "config": str(target.config),
            "dirs": sorted({*old.get("dirs", []), *map(str, new_dirs)}),
        }
        if target.host == "krita":
            entry["kritarc"] = _plan_kritarc(plan, target, old.get("kritarc"))
            kdirs = _missing_dirs(target.kritarc)  # type: ignore[arg-type]
            entry["dirs"] = sorted({*entry["dirs"], *map(str, kdirs)})
        target_manifests.append((mpath, entry))
    common_old = manifest.load(manifest.common_path(system)) or {}
    configs = dict(common_old.get("configs", {}))
    body = config_bytes(engine, system)
    for cfg in sorted({t.config for t in targets if t.config is not None}):
        if str(cfg) not in configs:
            configs[str(cfg)] = {"original": cfg.read_text("utf-8") if cfg.is_file() else None}
        created += _missing_dirs(cfg)
        plan.write(cfg, body)
    models = platforms.models_dir(system)
    if not models.exists():
        created += [*_missing_dirs(models), models]
        plan.mkdirs.append(models)
    created += list(engine.made_dirs)
    engine_entry = dict(common_old.get("engine", {}))
    engine_entry.update(python=str(engine.python), version=engine.version)
    if engine.created is not None:
        engine_entry["venv_created"] = str(engine.created)
    common = {
        "format": manifest.FORMAT,
        "configs": configs,
        "engine": engine_entry,
        "dirs": sorted({*common_old.get("dirs", []), *map(str, dict.fromkeys(created))}),
    }
    for mpath, entry in target_manifests:
        plan.write(mpath, manifest.dumps(entry))
    plan.write(manifest.common_path(system), manifest.dumps(common))
    return plan


def plan_uninstall(
    system: str, chosen: list[tuple[Path, dict[str, Any]]], keep_engine: bool = False
) -> Plan:
    """Every change that removes what the chosen manifests recorded, and nothing else."""
    plan = Plan()
    for mpath, entry in chosen:
        root = Path(entry["root"])
        backups = entry.get("backups", {})
        for f in entry.get("files", []):
            path = root / f["path"]
            if f["path"] in backups and Path(backups[f["path"]]).is_file():
                backup = Path(backups[f["path"]])
                plan.writes[path] = (backup.read_bytes(), is_executable(backup))
                plan.removals.append(backup)
                plan.rmdirs.extend(backup.parents[: len(Path(f["path"]).parts)])
            elif path.exists():
                plan.removals.append(path)
            pyc = path.with_suffix(".pyc")
            if path.suffix == ".py" and pyc.is_file():
                plan.removals.append(pyc)
            plan.rmdirs.append(path.parent)
        if "kritarc" in entry:
            _plan_kritarc_undo(plan, entry["kritarc"])
        plan.rmdirs.extend(Path(d) for d in entry.get("dirs", []))
        plan.removals.append(mpath)
    remaining = {p for p, _ in manifest.all_targets(system)} - {p for p, _ in chosen}
    common_path = manifest.common_path(system)
    common = manifest.load(common_path)
    if common is not None:
        still_used = {e.get("config") for p, e in manifest.all_targets(system) if p in remaining}
        for cfg, record in common.get("configs", {}).items():
            if cfg in still_used:
                continue
            if record.get("original") is not None:
                plan.writes[Path(cfg)] = (record["original"].encode("utf-8"), False)
            elif Path(cfg).exists():
                plan.removals.append(Path(cfg))
        if not remaining:
            plan.removals.append(common_path)
            venv = common.get("engine", {}).get("venv_created")
            if venv and not keep_engine and Path(venv).is_dir():
                plan.rmtrees.append(Path(venv))
            plan.rmdirs.extend(Path(d) for d in common.get("dirs", []))
            plan.rmdirs.append(platforms.data_dir(system) / "backups")
    return plan


def _plan_kritarc_undo(plan: Plan, record: dict[str, Any]) -> None:
    """Switch the Krita plug-in off again: exact restore when kritarc is as we left it."""
    path = Path(record["path"])
    if not path.is_file():
        return
    data = path.read_bytes()
    if record.get("written") == manifest.sha256(data):
        original = record.get("original")
        if original is None:
            plan.removals.append(path)
        else:
            plan.writes[path] = (original.encode("utf-8"), False)
        return
    previous = record.get("previous")
    new = kritarc.disable(
        data, KRITA_KEY, None if previous is None else previous.encode("utf-8"),
        bool(record.get("added_section")),
    )  # fmt: skip
    if new != data:
        plan.writes[path] = (new, False)
