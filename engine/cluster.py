"""`pocketsr upscale --cluster ADDRESS`: the same upscale spread over Ray actors.

The driver plans the outputs as the local command does (cli_plan), skips those already whole,
starts one actor per share of the cluster (cluster_actor: each holds one loaded model), hands
them file names (cluster_pool) and ends with the summary and a JSON report (cluster_report).
Ray is imported here only, when --cluster is given.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from .cli_common import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, EXIT_SETUP, UsageError, say
from .cli_plan import Job, collect_inputs, plan_jobs

INSTALL_HINT = "--cluster needs Ray, which is not installed: pip install 'pocketsr[cluster]'."
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def import_ray() -> Any:
    """The ray module, or None when it is not installed."""
    try:
        import ray
    except ImportError:
        return None
    return ray


def connect(ray: Any, address: str) -> bool:
    """Join (or for 'local' start) the Ray cluster; whether this call started Ray."""
    if ray.is_initialized():
        return False  # a caller (a test, a notebook) already connected this process
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address == "local":
        ray.init(address="local", include_dashboard=False, **quiet)
    else:
        ray.init(address=address, **quiet)
    return True


def pool_shape(args: argparse.Namespace, resources: dict[str, float], files: int) -> tuple:
    """(actors, CPUs per actor, GPUs per actor, threads per actor) for this cluster and run."""
    gpus = int(resources.get("GPU", 0))
    if gpus and args.device in ("auto", "cuda"):
        return min(args.actors or gpus, files), 1, 1, args.threads
    threads = args.threads or 1
    actors = args.actors or max(1, int(resources.get("CPU", 1) // threads))
    return max(1, min(actors, files)), threads, 0, threads


def looks_whole(path: Path) -> bool:
    """Whether an existing output is complete: its format's ending is there and it opens.

    Every write of ours is atomic, so an output of ours is whole; this catches a file cut
    short by something else (a copy, a full disk) without decoding any pixels.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return False
        with path.open("rb") as f:
            head = f.read(16)
            f.seek(max(0, size - 12))
            tail = f.read()
        suffix = path.suffix.lower()
        if suffix == ".png":
            return tail.endswith(_PNG_END)
        if suffix in (".jpg", ".jpeg"):
            return tail.endswith(b"\xff\xd9")
        if suffix == ".webp":
            return head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") + 8 == size
        if suffix in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts, strict=True)]
                return max(ends, default=0) <= size
    except Exception:
        return False
    return True


def run_on_cluster(args: argparse.Namespace) -> int:
    """Run the upscale on Ray at args.cluster; the command's exit code."""
    for name, value in (("--actors", args.actors), ("--threads", args.threads)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be a positive number")
    ray = import_ray()
    if ray is None:
        say(INSTALL_HINT)
        return EXIT_SETUP
    found, problems = collect_inputs(args.inputs)
    if not found:
        for problem in problems:
            say(problem)
        return EXIT_FAILED
    try:
        started = connect(ray, args.cluster)
    except Exception as exc:  # ConnectionError, a bad address, a version mismatch
        say(f"cannot reach the Ray cluster at {args.cluster}: {exc}")
        return EXIT_SETUP
    start = time.time()
    try:
        return _run(ray, args, len(found), start)
    finally:
        if started:
            with contextlib.suppress(Exception):
                ray.shutdown()


def _run(ray: Any, args: argparse.Namespace, files: int, start: float) -> int:
    from .cli_signals import Interrupts
    from .cli_upscale import _clean_work_files
    from .cluster_actor import actor_class, worker_fields
    from .cluster_pool import ActorPool, SetupFailed, dispatch, wait_gone
    from .cluster_report import FilesBar, RunSummary
    from .types import CancelToken

    count, cpus, gpus, threads = pool_shape(args, ray.cluster_resources(), files)
    fields = worker_fields(args)
    fields["threads"] = threads
    pool = ActorPool(ray, actor_class(ray, cpus=cpus, gpus=gpus, restarts=-1), fields, count)
    token = CancelToken()
    jobs: list[Job] = []
    summary: RunSummary | None = None
    try:
        with Interrupts(token):
            try:
                first = pool.first_ready()
            except SetupFailed as exc:
                say(str(exc))
                return EXIT_SETUP
            if first.get("usage_error"):
                raise UsageError(first["usage_error"])
            jobs, problems = plan_jobs(args, first["scale"])
            for problem in problems:
                say(problem)
            _clean_work_files({job.target.parent for job in jobs})
            todo, replace, skipped = _resume(jobs, args.overwrite)
            pool.keep(len(todo))
            summary = RunSummary(args.cluster, len(pool.actors) - len(pool.dead), threads, start)
            for job in skipped:
                summary.add(_entry(job, {"status": "skipped"}))
            summary.files.extend(
                {"source": p.split(": ", 1)[0], "status": "failed", "message": p} for p in problems
            )
            bar = FilesBar(len(jobs), enabled=not args.quiet)
            bar.show(len(skipped), 0.0)
            ended: set[int] = set()

            def on_result(index: int, result: dict[str, Any]) -> None:
                if result["status"] == "retry":
                    bar.close()
                    say(f"{todo[index].source}: its Ray worker died; trying it again.")
                    return
                ended.add(index)
                summary.add(_entry(todo[index], result))
                if result["status"] == "failed" or result.get("warnings"):
                    bar.close()
                for text in result.get("warnings", ()):
                    say(f"warning: {todo[index].source}: {text}")
                if result["status"] == "failed":
                    say(f"{todo[index].source}: {result['message']}")
                bar.show(len(summary.files) - len(problems), summary.output_mp)

            summary.retries = dispatch(pool, todo, replace, on_result, lambda: token.cancelled)
            summary.seconds = time.time() - start
            bar.close()
            if token.cancelled:
                summary.cancelled = True
                for index in sorted(set(range(len(todo))) - ended):
                    summary.add(_entry(todo[index], {"status": "cancelled"}))
    finally:
        wait_gone(pool.stop())
        _sweep(pool, jobs)
    if token.cancelled:
        say("cancelled; the files in progress were abandoned and nothing partial was left.")
        if summary is not None:  # the actors had loaded: say what was done, for a rerun
            _finish(summary, args, jobs)
        return EXIT_CANCELLED
    _finish(summary, args, jobs)
    return EXIT_FAILED if summary.count("failed") else EXIT_OK


def _finish(summary: Any, args: argparse.Namespace, jobs: list[Job]) -> None:
    """Write the JSON report and say the summary line (and where the report is)."""
    from .cluster_report import report_path, write_report

    report = report_path(args.report, args.out_dir, [job.target for job in jobs])
    write_report(report, summary)
    if not args.quiet or summary.count("failed"):
        say(summary.line())
    if not args.quiet:
        say(f"report: {report}")


def _resume(jobs: list[Job], overwrite: bool) -> tuple[list[Job], set[int], list[Job]]:
    """(jobs to run, indices among them whose existing output is cut short, jobs skipped)."""
    todo: list[Job] = []
    replace: set[int] = set()
    skipped: list[Job] = []
    for job in jobs:
        if overwrite or not job.target.exists():
            todo.append(job)
        elif job.target.resolve() != job.source.resolve() and looks_whole(job.target):
            skipped.append(job)
        else:  # cut short (or the input itself, which upscale_file refuses with its sentence)
            if job.target.resolve() != job.source.resolve():
                replace.add(len(todo))
            todo.append(job)
    return todo, replace, skipped


def _entry(job: Job, result: dict[str, Any]) -> dict[str, Any]:
    keep = ("status", "message", "width", "height", "seconds", "pid", "warnings")
    entry = {"source": str(job.source), "target": str(job.target)}
    entry.update({k: result[k] for k in keep if result.get(k) not in (None, [])})
    return entry


def _sweep(pool: Any, jobs: list[Job]) -> None:
    """Remove what the stopped actors left beside the outputs (their PIDs are in the names)."""
    from .cluster_pool import remove_work_files_of
    from .imageio import clean_stale_work_files

    folders = {job.target.parent for job in jobs}
    for folder in folders:
        for pid, node in zip(pool.pids, pool.nodes, strict=True):
            if pid is not None:
                remove_work_files_of(pid, node, folder)
        clean_stale_work_files(folder)
