"""Install manifests: what each install added, so uninstall removes exactly that."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pocketsr.installers import platforms
from pocketsr.installers.platforms import Target

FORMAT = 1
COMMON = "engine.json"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def target_path(target: Target, system: str) -> Path:
    """The manifest file of one host profile."""
    key = hashlib.sha1(os.path.abspath(target.root).encode("utf-8")).hexdigest()[:12]
    return platforms.manifests_dir(system) / f"{target.host}-{key}.json"


def common_path(system: str) -> Path:
    """The manifest of what all hosts share (configs, engine environment)."""
    return platforms.manifests_dir(system) / COMMON


def dumps(data: dict[str, Any]) -> bytes:
    """A manifest's bytes (stable, so an unchanged install rewrites nothing)."""
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8")


def load(path: Path) -> dict[str, Any] | None:
    """A manifest, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def all_targets(system: str) -> list[tuple[Path, dict[str, Any]]]:
    """Every host manifest recorded on this machine."""
    folder = platforms.manifests_dir(system)
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = load(path) if path.name != COMMON else None
        if data is not None and "host" in data:
            found.append((path, data))
    return found
