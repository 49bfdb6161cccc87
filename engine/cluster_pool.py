"""The actors of a `pocketsr upscale --cluster` run and the loop that hands them files.

Only file names travel: each actor reads its input and writes its output itself. A file whose
actor's process dies (killed, out of memory, node lost) goes back to the queue and is done by
the next free actor, while Ray restarts the dead one; the dead process's working files beside
that output are removed by name (they carry its PID), so nothing partial is left.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cli_plan import Job
from .work_files import work_file_prefix

MAX_ATTEMPTS = 3  # a file whose worker died this many times is reported, not tried again
PER_ACTOR = 2  # calls queued on each actor: the next file is there when one ends


class SetupFailed(Exception):
    """No actor could load the model; str() is the engine's sentence."""


def remove_work_files_of(pid: int, node: str, folder: Path) -> list[Path]:
    """Remove the working files process `pid` of machine `node` left in `folder` (it is dead)."""
    removed = []
    with contextlib.suppress(OSError):
        for path in folder.glob(f"{work_file_prefix(pid, node)}*"):
            if path.suffix in (".part", ".raw"):
                with contextlib.suppress(OSError):
                    path.unlink()
                    removed.append(path)
    return removed


class ActorPool:
    """The actors, each with one loaded model, and which of them can take a file now."""

    def __init__(self, ray: Any, actor_cls: Any, fields: dict[str, Any], count: int) -> None:
        self.ray = ray
        self.overwrite = bool(fields.get("overwrite"))
        self.actors = [actor_cls.remote(fields) for _ in range(count)]
        self.pids: list[int | None] = [None] * count
        self.nodes: list[str] = [""] * count  # each actor's machine (its work files say so)
        self.slots = [0] * count  # calls each actor may still be given
        self.dead: set[int] = set()
        self.readying = {actor.ready.remote(): i for i, actor in enumerate(self.actors)}
        self._failed_ready = [0] * count

    def first_ready(self) -> dict[str, Any]:
        """Wait for the first actor to load its model; its state (scale, usage error)."""
        while True:
            done, _ = self.ray.wait(list(self.readying), num_returns=1)
            state = self._took_ready(done[0])
            if state is not None:
                return state
            if len(self.dead) == len(self.actors):
                raise SetupFailed("every Ray worker died while loading the model.")

    def _took_ready(self, ref: Any) -> dict[str, Any] | None:
        index = self.readying.pop(ref)
        try:
            state = self.ray.get(ref)
        except self.ray.exceptions.RayError:
            self._failed_ready[index] += 1
            if self._failed_ready[index] > MAX_ATTEMPTS:
                self.dead.add(index)
            else:
                self.readying[self.actors[index].ready.remote()] = index
            return None
        if state.get("error"):
            if any(pid is not None for pid in self.pids):  # others loaded it: only this one
                self.dead.add(index)
                return None
            raise SetupFailed(state["error"])
        self.pids[index], self.nodes[index] = state["pid"], state["node"]
        self.slots[index] = PER_ACTOR
        return state

    def keep(self, count: int) -> None:
        """Stop the actors beyond the first `count` (fewer files than actors)."""
        for index in range(max(count, 1), len(self.actors)):
            self.ray.kill(self.actors[index], no_restart=True)
            self.dead.add(index)
            self.slots[index] = 0

    def free(self) -> int | None:
        """An actor that can take a file now (the least busy), or None."""
        best = max(range(len(self.actors)), key=lambda i: self.slots[i])
        return best if self.slots[best] > 0 and best not in self.dead else None

    def died(self, index: int) -> int | None:
        """Note that actor `index`'s process died; ask for it again. Its old PID."""
        pid, self.pids[index], self.slots[index] = self.pids[index], None, 0
        if index not in self.dead and index not in self.readying.values():
            self.readying[self.actors[index].ready.remote()] = index
        return pid

    def stop(self) -> list[int]:
        """Kill every actor (no restart); the PIDs they had."""
        for actor in self.actors:
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)
        return [pid for pid in self.pids if pid is not None]


def dispatch(
    pool: ActorPool,
    jobs: list[Job],
    replace: set[int],
    on_result: Callable[[int, dict[str, Any]], None],
    cancelled: Callable[[], bool],
) -> int:
    """Hand every job to the actors until each has a result; the number of retries.

    replace: indices of jobs whose existing output is not whole and is to be redone.
    on_result(index, result) gets each file's outcome once (and a "retry" status each time
    its worker died and it went back to the queue); returns when all are in or when
    cancelled() turns true (the caller then stops the pool).
    """
    ray = pool.ray
    queue = deque(range(len(jobs)))
    attempts = [0] * len(jobs)
    running: dict[Any, tuple[int, int]] = {}  # call -> (actor, job)
    retries = 0
    while queue or running:
        if cancelled():
            return retries
        while queue and (index := pool.free()) is not None:
            job = queue.popleft()
            attempts[job] += 1
            call = pool.actors[index].upscale.remote(
                str(jobs[job].source), str(jobs[job].target), job in replace, attempts[job] > 1
            )
            running[call] = (index, job)
            pool.slots[index] -= 1
        if not running and len(pool.dead) == len(pool.actors):
            for job in queue:
                on_result(job, {"status": "failed", "message": "every Ray worker died."})
            return retries
        waiting = list(running) + list(pool.readying)
        done, _ = ray.wait(waiting, num_returns=1, timeout=0.25)
        for ref in done:
            if ref in pool.readying:
                pool._took_ready(ref)
                continue
            index, job = running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError:
                retries += 1
                result = _after_death(pool, index, jobs[job], attempts[job], job in replace)
                if result is None:
                    queue.appendleft(job)
                    on_result(job, {"status": "retry", "attempt": attempts[job]})
                    continue
            except ray.exceptions.RayError as exc:
                pool.slots[index] += 1
                result = {"status": "failed", "message": f"the Ray task failed ({exc})."}
            else:
                pool.slots[index] += 1
            on_result(job, result)
    return retries


def _after_death(
    pool: ActorPool, index: int, job: Job, attempts: int, replace: bool
) -> dict[str, Any] | None:
    """A file's worker died: clean up after it; its result, or None to try it again."""
    node = pool.nodes[index]
    pid = pool.died(index)
    if pid is not None:
        remove_work_files_of(pid, node, job.target.parent)
    if not replace and not pool.overwrite and job.target.exists():
        # Renamed into place whole before the process died: the atomic write finished.
        return {"status": "done", "message": "written before its worker died"}
    if attempts >= MAX_ATTEMPTS:
        return {
            "status": "failed",
            "message": f"its Ray worker died {attempts} times while upscaling it "
            "(out of memory, or the node was lost?).",
        }
    return None


def wait_gone(pids: list[int], seconds: float = 2.0) -> None:
    """Wait (a little) until these local processes have exited."""
    deadline = time.monotonic() + seconds
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                break
            time.sleep(0.05)
