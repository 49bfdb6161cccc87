"""The Ray actor of `pocketsr upscale --cluster`: one loaded Upscaler, files in, files out.

Imported on the Ray workers (and by the driver, to make the actor class); it imports Ray
only inside `actor_class`. The per-file work is the local CLI's own (`upscale_file`), so an
output made here is the one `pocketsr upscale` would make, bit for bit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import socket
import time
import warnings
from pathlib import Path
from typing import Any

# The argparse fields that only concern the driver: everything else reaches the actor, so an
# option added to the command line flows to `cli_options(args)` on the worker untouched.
DRIVER_ONLY = ("inputs", "output", "out_dir", "cluster", "actors", "report", "command")


def worker_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The parsed command line as the actors get it: every per-file option, no progress bar."""
    fields = {k: v for k, v in vars(args).items() if k not in DRIVER_ONLY}
    fields["quiet"] = True  # the driver draws the one progress bar and says each failure
    return fields


def _quietly(call: Any, *a: Any) -> tuple[Any, str]:
    """Run call(*a) with stderr captured: the engine says its sentences there."""
    captured = io.StringIO()
    with contextlib.redirect_stderr(captured):
        value = call(*a)
    text = " ".join(line.removeprefix("pocketsr: ") for line in captured.getvalue().splitlines())
    return value, text


class UpscaleWorker:
    """One actor's loaded model: upscales the files it is sent, one at a time."""

    def __init__(self, fields: dict[str, Any]) -> None:
        from .cli_upscale import load_upscaler

        self.args = argparse.Namespace(**fields)
        self.upscaler, said = _quietly(
            load_upscaler, self.args.model, self.args.device, self.args.threads
        )
        self.error = None if self.upscaler is not None else (said or "the model did not load.")

    def ready(self) -> dict[str, Any]:
        """Who this actor is (pid, node) and what it loaded, or the sentence why it could not."""
        state: dict[str, Any] = {"pid": os.getpid(), "node": socket.gethostname()}
        if self.error:
            return {**state, "error": self.error}
        state["scale"] = int(self.upscaler.info.scale)
        state["usage_error"] = self._check_options()
        return state

    def _check_options(self) -> str | None:
        from .cli_common import UsageError
        from .cli_upscale import check_with_model

        try:  # the local CLI's own checks against the loaded model
            check_with_model(self.upscaler, self.args)
        except UsageError as exc:
            return str(exc)
        return None

    def upscale(
        self, source: str, target: str, replace: bool = False, retry: bool = False
    ) -> dict[str, Any]:
        """Upscale one file to `target` (written atomically); its result, never an exception.

        replace: redo an existing output that is not whole even without --overwrite.
        retry: an earlier attempt's worker was lost; an output it renamed into place is kept.
        """
        from .cli_plan import Job
        from .cli_upscale import _sentence, upscale_file
        from .types import CancelToken

        args = self.args
        if replace and not args.overwrite:
            args = argparse.Namespace(**{**vars(args), "overwrite": True})
        result: dict[str, Any] = {"source": source, "target": target, "pid": os.getpid()}
        earlier = retry and not replace and not args.overwrite
        if earlier and Path(target).exists():
            return {**result, "status": "done", "message": "written by an earlier attempt"}
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = upscale_file(
                    self.upscaler, Job(Path(source), Path(target)), args, CancelToken()
                )
                result.update(status="done", width=out.width, height=out.height)
            except Exception as exc:
                if earlier and Path(target).exists():  # the lost attempt was still writing
                    result.update(status="done", message="written by an earlier attempt")
                else:
                    result.update(status="failed", message=_sentence(exc))
        result["seconds"] = round(time.perf_counter() - start, 4)
        result["warnings"] = [str(w.message) for w in caught]
        return result


def actor_class(ray: Any, *, cpus: float, gpus: float, restarts: int) -> Any:
    """UpscaleWorker as a Ray actor class with its resources; Ray restarts a killed process."""
    return ray.remote(num_cpus=cpus, num_gpus=gpus, max_restarts=restarts, max_task_retries=0)(
        UpscaleWorker
    )
