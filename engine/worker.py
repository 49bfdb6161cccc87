"""`pocketsr worker`: serves bridge requests on stdin/stdout until stdin closes."""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import platform
import queue
import signal
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import numpy as np

from pocketsr import __version__
from pocketsr.engine import errors, protocol
from pocketsr.engine.model_paths import DEFAULT_MODEL
from pocketsr.engine.plan import upscale_arguments
from pocketsr.engine.protocol import Frame
from pocketsr.engine.types import CancelToken, Progress, Size
from pocketsr.engine.upscaler import UpscalerCache
from pocketsr.engine.worker_requests import (  # noqa: F401 - also the in-process path's API
    cached_upscaler,
    declared_pixels,
    devices,
    list_models,
    mapped_pixels,
    pixel_bytes,
    pixels_view,
    plan_reply,
    request_options,
    request_payload_limit,
    request_roi,
    run_local,
)
from pocketsr.engine.worker_setup import (  # noqa: F401 - names tests and tools use
    LOG_NAME,
    default_log_dir,
    parent_already_gone,
    protocol_streams,
    set_parent_death_signal,
    setup_logging,
)

log = logging.getLogger("pocketsr.worker")

# After stdin closes, a job still inside a tile gets this long before the process just exits.
EXIT_GRACE_S = 10.0


class Worker:
    """Serves one host: reads frames on a reader thread, runs jobs one at a time."""

    def __init__(self, inp: IO[bytes], out: IO[bytes], log_path: Path | None = None) -> None:
        self._in = inp
        self._out = out
        self._log_path = log_path
        self._send_lock = threading.Lock()
        self._job_lock = threading.Lock()
        self._job_id: Any = None
        self._tiles_done = 0  # of the running job, for the cancel log lines
        self._token: CancelToken | None = None
        self._queue: queue.Queue[Frame | None] = queue.Queue()
        self._upscalers = UpscalerCache()
        self._greeted = False
        self._host_gone = False

    # --- output -------------------------------------------------------------------------
    def send(self, header: dict[str, Any], payload: Any = b"") -> None:
        """Write one frame to the host (thread-safe); a vanished host is not an error here."""
        with self._send_lock:
            try:
                protocol.write_frame(self._out, header, payload)
            except (BrokenPipeError, OSError, ValueError):
                self._host_gone = True

    # --- reader thread ------------------------------------------------------------------
    def _cancel_current(self, job_id: Any = None) -> None:
        """Set the running job's cancel token (if job_id is None or matches)."""
        with self._job_lock:
            if self._token is not None and (job_id is None or job_id == self._job_id):
                self._token.cancel()

    def _read_loop(self) -> None:
        """Move frames from stdin to the job queue; cancel acts at once, not after the job.

        However it ends (end of input, garbage, any failure), the worker is told to stop.
        """
        try:
            while True:
                frame = protocol.read_frame(self._in, request_payload_limit)
                if frame is None:
                    log.info("stdin closed: the host is gone or done")
                    break
                if frame.type == protocol.CANCEL:
                    job = frame.header.get("id")
                    at = self._tiles_done
                    self._cancel_current(job)
                    log.info("cancel requested for job %s at tile %d", job, at)
                    continue
                self._queue.put(frame)
        except protocol.ProtocolError as exc:
            log.error("garbage from the host, stopping: %s", exc)
            self.send(protocol.error_header(protocol.PROTOCOL_ERROR, f"Bad frame: {exc}"))
        except (OSError, ValueError) as exc:
            log.error("reading stdin failed: %s", exc)
        except BaseException:
            log.exception("the reader failed: stopping")
            self.send(protocol.error_header(protocol.INTERNAL_ERROR, "The engine's reader failed."))
        finally:
            self._host_gone = True
            self._cancel_current()
            self._queue.put(None)
            threading.Timer(EXIT_GRACE_S, self._exit_now).start()

    def _exit_now(self) -> None:
        """Last resort when a job does not stop after the host left."""
        log.warning("a job did not stop %.0f s after stdin closed: exiting", EXIT_GRACE_S)
        logging.shutdown()
        os._exit(0)

    # --- main loop ----------------------------------------------------------------------
    def serve(self) -> int:
        """Serve until stdin closes or a shutdown frame arrives; return the exit status."""
        reader = threading.Thread(target=self._read_loop, name="pocketsr-reader", daemon=True)
        reader.start()
        while True:
            frame = self._queue.get()
            if frame is None:
                return 0
            if frame.type == protocol.SHUTDOWN:
                self.send({"type": protocol.BYE})
                return 0
            try:
                if not self._dispatch(frame):
                    return 1
            except Exception as exc:  # every failure becomes an error frame
                self.send(self._error_for(exc, frame.header.get("id")))

    def _dispatch(self, frame: Frame) -> bool:
        """Handle one request; False when the worker must stop (failed handshake)."""
        kind = frame.type
        if kind == protocol.HELLO:
            return self._hello(frame.header)
        if not self._greeted:
            raise protocol.ProtocolError(f"'{kind}' before the hello handshake")
        if kind == protocol.INFO:
            self.send(self._info(frame.header))
        elif kind == protocol.PLAN:
            self.send(plan_reply(self._upscalers, frame.header))
        elif kind == protocol.UPSCALE:
            self._upscale(frame)
        else:
            raise protocol.ProtocolError(f"unknown request type '{kind}'")
        return True

    def _hello(self, header: dict[str, Any]) -> bool:
        """Check the host's protocol version and answer with ours."""
        theirs = header.get("protocol")
        mine = {
            "protocol": protocol.PROTOCOL_VERSION,
            "engine_version": __version__,
            "python": platform.python_version(),
            "pid": os.getpid(),
            "log_path": str(self._log_path) if self._log_path else None,
        }
        if theirs != protocol.PROTOCOL_VERSION:
            client = header.get("client_version", "?")
            message = (
                f"PocketSR plug-in {client} needs an engine speaking protocol {theirs}, "
                f"but engine {__version__} speaks protocol {protocol.PROTOCOL_VERSION}: "
                "install matching versions of the plug-in and the engine."
            )
            log.error("%s", message)
            self.send(protocol.error_header(protocol.VERSION_MISMATCH, message, **mine))
            return False
        self._upscalers.models_dir = header.get("models_dir") or None
        self._greeted = True
        log.info("hello from %s %s", header.get("client", "?"), header.get("client_version", "?"))
        self.send({"type": protocol.HELLO, **mine})
        return True

    def _info(self, header: dict[str, Any]) -> dict[str, Any]:
        """The info reply: engine version, models and devices."""
        return {
            "type": protocol.INFO,
            "id": header.get("id"),
            "engine_version": __version__,
            "protocol": protocol.PROTOCOL_VERSION,
            "python": platform.python_version(),
            "models": list_models(self._upscalers.models_dir),
            "default_model": DEFAULT_MODEL,
            "devices": devices(),
            "log_path": str(self._log_path) if self._log_path else None,
        }

    def _input_array(self, frame: Frame) -> np.ndarray:
        """The request's pixels as an array: a view of the payload or a map of the file."""
        width, height, channels, dtype = declared_pixels(frame.header)
        source = frame.header.get("input") or {}
        if source.get("file"):
            return mapped_pixels(source["file"], width, height, channels, dtype)
        return pixels_view(frame.payload, width, height, channels, dtype)

    def _upscale(self, frame: Frame) -> None:
        """Run one upscale job, streaming progress (and tiles on request), then the result."""
        h = frame.header
        job_id = h.get("id")
        image = self._input_array(frame)
        options = request_options(h)
        upscaler = cached_upscaler(self._upscalers, options)
        size = Size(image.shape[1], image.shape[0])
        channels = 1 if image.ndim == 2 else image.shape[2]
        kwargs = upscale_arguments(upscaler.info, size, options, request_roi(h), channels)
        want_tiles = bool(h.get("tiles"))
        out_size = upscaler.output_size(
            size, scale=kwargs.get("scale"), size=kwargs.get("size"), roi=kwargs.get("roi")
        )
        shape = (out_size.height, out_size.width, *image.shape[2:])
        offered = h.get("output") or {}
        big = out_size.area * channels * image.dtype.itemsize > (offered.get("above") or 0)
        target = offered.get("file") if big else None
        out = None
        if target:
            # The engine writes straight into the host's result file: no private result copy.
            out = np.memmap(target, dtype=image.dtype, mode="w+", shape=shape)
            out_width = shape[1]

        def on_progress(p: Progress) -> None:
            event: dict[str, Any] = {"type": protocol.PROGRESS, "id": job_id} | p.to_wire()
            payload: Any = b""
            if p.rect is not None:
                if want_tiles and out is not None:
                    event["in_output"] = {"file": target, "width": out_width}
                elif want_tiles and p.pixels is not None:
                    payload = np.ascontiguousarray(p.pixels)
            self._tiles_done = p.done
            self.send(event, payload)

        token = CancelToken()
        with self._job_lock:
            self._job_id, self._token, self._tiles_done = job_id, token, 0
        if self._host_gone:
            token.cancel()
        start = time.perf_counter()
        try:
            result = upscaler.upscale(image, progress=on_progress, cancel=token, out=out, **kwargs)
        finally:
            with self._job_lock:
                self._job_id, self._token = None, None
        elapsed = time.perf_counter() - start
        out_h, out_w = result.shape[:2]
        channels = 1 if result.ndim == 2 else result.shape[2]
        reply: dict[str, Any] = {
            "type": protocol.RESULT,
            "id": job_id,
            "width": out_w,
            "height": out_h,
            "channels": channels,
            "dtype": str(result.dtype),
            "elapsed": round(elapsed, 4),
        }
        log.info("job %s: %dx%d -> %dx%d in %.2f s", job_id, *image_size(h), out_w, out_h, elapsed)
        if out is not None:
            out.flush()
            reply["output"] = {"file": target, "bytes": out.nbytes}
            del out, result
            self.send(reply)
        else:
            self.send(reply, np.ascontiguousarray(result))

    def _error_for(self, exc: BaseException, job_id: Any) -> dict[str, Any]:
        """An error frame for an exception: engine errors keep their code and sentence."""
        if isinstance(exc, errors.Cancelled):
            log.info("job %s cancelled at tile %d", job_id, self._tiles_done)
            return protocol.error_header(exc.code, str(exc) or "Cancelled.", job_id)
        if isinstance(exc, errors.PocketSRError):
            log.warning("job %s failed: %s: %s", job_id, exc.code, exc)
            return protocol.error_header(exc.code, str(exc), job_id)
        if isinstance(exc, protocol.ProtocolError):
            log.warning("protocol error: %s", exc)
            return protocol.error_header(exc.code, f"Bad request: {exc}", job_id)
        if isinstance(exc, MemoryError):
            log.error("job %s ran out of memory", job_id)
            message = "The engine ran out of memory: try a smaller image, region or tile size."
            return protocol.error_header(errors.OutOfMemoryError.code, message, job_id)
        log.exception("job %s failed unexpectedly", job_id)
        where = f" Details are in {self._log_path}." if self._log_path else ""
        message = f"The engine failed unexpectedly ({type(exc).__name__}: {exc}).{where}"
        return protocol.error_header(protocol.INTERNAL_ERROR, message, job_id)


def image_size(header: dict[str, Any]) -> tuple[int, int]:
    """(width, height) of a request header, for log lines."""
    return int(header.get("width", 0)), int(header.get("height", 0))


def main(argv: list[str] | None = None) -> int:
    """Entry point of `pocketsr worker`: speak the frame protocol on stdin/stdout."""
    del argv  # no options: everything arrives in the hello frame or the environment
    armed = set_parent_death_signal()
    if parent_already_gone():
        return 0
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host handles Ctrl-C, not us
    faulthandler.enable()
    log_path: Path | None = None
    try:
        log_path = setup_logging(default_log_dir())
    except OSError as exc:
        print(f"pocketsr worker: no log file ({exc})", file=sys.stderr)
    log.info("worker %s starting (python %s, pdeathsig %s)", os.getpid(), sys.version, armed)
    inp, out = protocol_streams()
    status = Worker(inp, out, log_path).serve()
    log.info("worker %s exiting with %d", os.getpid(), status)
    logging.shutdown()
    # Threads (the reader blocked on stdin, a timer) must not keep a finished worker alive.
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
