"""Which host profiles a command acts on, from --host / --profile-dir / --data-dir."""

from __future__ import annotations

from pathlib import Path

from pocketsr.installers import platforms
from pocketsr.installers.layout import HOSTS
from pocketsr.installers.platforms import Target


class TargetError(Exception):
    """No usable host profile, or the options contradict each other."""


def hosts_for(choice: str) -> list[str]:
    """The hosts named by --host."""
    return list(HOSTS) if choice == "all" else [choice]


def resolve(
    choice: str,
    system: str,
    profile_dir: Path | None = None,
    data_dir: Path | None = None,
    kritarc: Path | None = None,
) -> tuple[list[Target], list[str]]:
    """(targets, notes): every profile found for the chosen hosts, or the named folders."""
    hosts = hosts_for(choice)
    if profile_dir is not None or data_dir is not None:
        return _named(hosts, system, profile_dir, data_dir, kritarc), []
    targets: list[Target] = []
    notes: list[str] = []
    for host in hosts:
        found = platforms.found_targets(host, system)
        if kritarc is not None:
            found = [Target(t.host, t.flavour, t.root, kritarc, t.config) for t in found]
        targets.extend(found)
        if not found:
            looked = ", ".join(str(t.root) for t in platforms.candidates(host, system))
            notes.append(f"{_name(host)}: no profile folder found (looked in {looked})")
    if not targets:
        raise TargetError(
            "No GIMP or Krita profile folder was found: "
            + "; ".join(notes)
            + ". Start the program once so it creates its profile, then run this again, "
            "or name the folder with --profile-dir (GIMP) or --data-dir (Krita)."
        )
    return targets, notes


def _named(
    hosts: list[str],
    system: str,
    profile_dir: Path | None,
    data_dir: Path | None,
    kritarc: Path | None,
) -> list[Target]:
    """Targets from --profile-dir (one GIMP) and --data-dir (Krita)."""
    out = []
    if profile_dir is not None:
        gimps = [h for h in hosts if h in platforms.GIMP_VERSIONS]
        if len(gimps) != 1:
            raise TargetError(
                "--profile-dir names one GIMP profile folder: add --host gimp (GIMP 3) "
                "or --host gimp2 (GIMP 2.10)."
            )
        out.append(platforms.custom_target(gimps[0], system, Path(profile_dir).absolute()))
    if data_dir is not None:
        if "krita" not in hosts:
            raise TargetError("--data-dir names Krita's resource folder: use it with --host krita.")
        out.append(platforms.custom_target("krita", system, Path(data_dir).absolute(), kritarc))
    return out


def _name(host: str) -> str:
    """A host's display name."""
    return {"gimp": "GIMP 3.0", "gimp2": "GIMP 2.10", "krita": "Krita"}[host]
