"""Working files beside outputs: their names say which process on which machine wrote them."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pocketsr.engine.cluster_pool import remove_work_files_of
from pocketsr.engine.work_files import (
    clean_stale_work_files,
    host_tag,
    work_file,
    work_file_prefix,
)


def _dead_pid() -> int:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid += 1
    return pid


def _make(folder: Path, name: str, age_s: float = 60.0) -> Path:
    path = folder / name
    path.write_bytes(b"x" * 100)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_a_work_file_names_its_process_and_machine(tmp_path: Path) -> None:
    path = work_file(tmp_path, ".part")
    assert path.name.startswith(f".pocketsr-{os.getpid()}@{host_tag()}-")
    assert path.suffix == ".part" and path.stat().st_size == 0
    assert host_tag("node-a") != host_tag("node-b") and len(host_tag("node-a")) == 8


def test_cleanup_removes_only_this_machines_dead_files_and_day_old_others(
    tmp_path: Path,
) -> None:
    dead = _dead_pid()
    mine_dead = _make(tmp_path, f"{work_file_prefix(dead)}a1.part")
    legacy_dead = _make(tmp_path, f".pocketsr-{dead}-b2.raw")  # written before host tags
    mine_live = _make(tmp_path, f"{work_file_prefix(os.getpid())}c3.part")
    # Another node's live run on a shared folder: its PID means nothing here, so it stays.
    other_fresh = _make(tmp_path, f"{work_file_prefix(dead, 'node-b')}d4.part")
    other_old = _make(tmp_path, f"{work_file_prefix(dead, 'node-b')}e5.raw", age_s=2 * 86400)
    not_ours = _make(tmp_path, ".holiday.jpg.part")
    removed = clean_stale_work_files(tmp_path)
    assert sorted(removed) == sorted([mine_dead, legacy_dead, other_old])
    assert all(p.exists() for p in (mine_live, other_fresh, not_ours))


def test_a_dead_actors_files_are_removed_by_its_pid_and_node_only(tmp_path: Path) -> None:
    gone = _make(tmp_path, f"{work_file_prefix(1234, 'node-a')}x.part")
    same_pid_other_node = _make(tmp_path, f"{work_file_prefix(1234, 'node-b')}y.part")
    other_pid = _make(tmp_path, f"{work_file_prefix(1235, 'node-a')}z.raw")
    assert remove_work_files_of(1234, "node-a", tmp_path) == [gone]
    assert same_pid_other_node.exists() and other_pid.exists() and not gone.exists()
