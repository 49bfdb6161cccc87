"""What a `pocketsr upscale --cluster` run tells: one progress bar over files, the summary
line at the end and the JSON report beside the outputs."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .cli_progress import bar, clock

REPORT_NAME = "pocketsr-report.json"


class FilesBar:
    """Files done of all, with output megapixels and ETA: redrawn on a terminal, else a line
    every few seconds."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.enabled = enabled and total > 0
        self.tty = self.stream.isatty()
        self.start = time.monotonic()
        self._last = -1e9
        self._drawn = False

    def show(self, files: int, megapixels: float) -> None:
        """Draw the bar for `files` finished (done, skipped or failed) and the MP written."""
        now = time.monotonic()
        if not self.enabled or (
            now - self._last < (0.1 if self.tty else 5.0) and files < self.total
        ):
            return
        self._last = now
        elapsed = now - self.start
        eta = f"  ETA {clock(elapsed / files * (self.total - files))}" if files else ""
        counts = f"{files}/{self.total} files  {megapixels:.1f} MP  {clock(elapsed)}{eta}"
        if not self.tty:
            print(f"pocketsr: {counts}", file=self.stream, flush=True)
            return
        self.stream.write(f"\r{bar(files / self.total)} {counts}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line, so that messages after it start clean."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False


@dataclass
class RunSummary:
    """Every file's outcome in one run, and the totals the summary line and report give."""

    address: str
    actors: int
    threads: int | None
    started: float = field(default_factory=time.time)
    files: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0
    seconds: float = 0.0
    cancelled: bool = False

    def add(self, entry: dict[str, Any]) -> None:
        """Record one file: source, target, status (done, skipped, failed, cancelled), more."""
        if entry.get("status") == "done" and "width" in entry:
            entry["output_mp"] = round(entry["width"] * entry["height"] / 1e6, 6)
        self.files.append(entry)

    def count(self, status: str) -> int:
        """How many files ended with this status."""
        return sum(1 for f in self.files if f["status"] == status)

    @property
    def output_mp(self) -> float:
        """Output megapixels written in this run (skipped files not counted)."""
        return sum(f.get("output_mp", 0.0) for f in self.files)

    @property
    def mp_per_s(self) -> float:
        """Output megapixels per second of wall time."""
        return self.output_mp / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        """The one summary sentence at the end of the run."""
        counts = (
            f"{self.count('done')} upscaled, {self.count('skipped')} skipped (already whole), "
            f"{self.count('failed')} failed"
        )
        if self.cancelled:
            counts = f"cancelled: {counts}, {self.count('cancelled')} not done"
        return (
            f"{counts}; {self.output_mp:.2f} output MP in "
            f"{self.seconds:.1f} s ({self.mp_per_s:.2f} MP/s) on {self.actors} actor(s)."
        )

    def as_json(self) -> dict[str, Any]:
        """The report's content."""
        from pocketsr import __version__

        return {
            "pocketsr": __version__,
            "cluster": self.address,
            "actors": self.actors,
            "threads_per_actor": self.threads,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "seconds": round(self.seconds, 3),
            "done": self.count("done"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "cancelled": self.cancelled,
            "not_done": self.count("cancelled"),
            "output_mp": round(self.output_mp, 6),
            "mp_per_s": round(self.mp_per_s, 4),
            "retries": self.retries,
            "files": sorted(self.files, key=lambda f: f["source"]),
        }


def report_path(explicit: str | None, out_dir: str | None, targets: list[Path]) -> Path:
    """Where the report goes: --report, else beside the outputs (--out-dir, or their folder)."""
    if explicit:
        return Path(explicit)
    if out_dir:
        return Path(out_dir) / REPORT_NAME
    folders = {t.parent for t in targets}
    return (folders.pop() if len(folders) == 1 else Path.cwd()) / REPORT_NAME


def write_report(path: Path, summary: RunSummary) -> None:
    """Write the JSON report atomically (a half-written report is never left)."""
    from .imageio import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(summary.as_json(), indent=1) + "\n", encoding="utf-8")
