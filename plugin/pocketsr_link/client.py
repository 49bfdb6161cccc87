# -*- coding: utf-8 -*-
"""The out-of-process client: starts `pocketsr worker`, shakes hands, sends requests."""

from __future__ import absolute_import

import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue  # noqa: N813

from . import jobs, wire
from .errors import (BridgeError, ConfigError, EngineError, ProtocolError, VersionMismatchError,
                     WorkerCrashedError, WorkerStartError, WorkerTimeoutError, from_error_frame)
from .frames import bytes_view, encode_header, nbytes, write_all
from .paths import LOG_NAME, config_path, default_log_dir
from .process import WorkerProcess, describe_exit, remove_stale_transfer_dirs, tail_lines
from .reader import FrameReader

BRIDGE_VERSION = "0.1.0"
WORKER_MODULE = "pocketsr.engine.worker"
_PY2 = sys.version_info[0] == 2


def load_config(path=None):
    """The plug-in config as a dict ({} when the file does not exist)."""
    path = path or config_path()
    if not os.path.exists(path):
        return {}
    try:
        with io.open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (IOError, OSError, ValueError) as exc:
        raise ConfigError("The PocketSR plug-in config %s cannot be read: %s" % (path, exc))
    if not isinstance(data, dict):
        raise ConfigError("The PocketSR plug-in config %s is not a JSON object." % path)
    return data


class Bridge(object):
    """Runs the engine in a worker process and forwards requests to it.

    python: the engine environment's interpreter (default: POCKETSR_PYTHON, then the config's
    "python"). Timeouts are in seconds. A dead worker is replaced on the next request.
    """

    protocol_version = wire.PROTOCOL_VERSION
    client_version = BRIDGE_VERSION

    def __init__(self, python=None, config=None, log_dir=None, models_dir=None, env=None,
                 start_timeout=60.0, request_timeout=120.0, frame_timeout=10.0,
                 cancel_grace=10.0, file_threshold=wire.DEFAULT_FILE_THRESHOLD,
                 poll_interval=0.05):
        cfg = load_config() if config is None else dict(config)
        self._config_source = "POCKETSR_PYTHON" if os.environ.get("POCKETSR_PYTHON") else (
            config_path() if config is None else "the given config")
        self.python = python or os.environ.get("POCKETSR_PYTHON") or cfg.get("python")
        self.log_dir = log_dir or cfg.get("log_dir") or default_log_dir()
        self.models_dir = models_dir or cfg.get("models_dir")
        self.env = env
        self.start_timeout = start_timeout
        self.request_timeout = request_timeout
        self.frame_timeout = frame_timeout
        self.cancel_grace = cancel_grace
        self.file_threshold = file_threshold
        self.poll_interval = poll_interval
        self.worker_info = None
        self._worker = None
        self._last_crash_stderr = []
        self._next_id = 1
        self._transfer_dir = None
        self._lock = threading.RLock()

    # -- public API ---------------------------------------------------------------------
    @property
    def log_path(self):
        """The worker's rotating log file."""
        return os.path.join(self.log_dir, LOG_NAME)

    @property
    def worker_pid(self):
        """The running worker's pid, or None."""
        return self._worker.pid if self._worker is not None else None

    def info(self):
        """Engine version, protocol, devices and models (ModelInfo wire objects), as a dict."""
        with self._lock:
            self._ensure_worker()
            job_id = self._send_request({"type": wire.INFO})
            header, _ = self._wait_for(job_id, self.request_timeout)
        return dict((k, v) for k, v in header.items() if k not in ("type", "id"))

    def models(self):
        """Every model the engine can run, as wire.ModelInfo values."""
        return [wire.ModelInfo.from_wire(m) for m in self.info().get("models") or []]

    def plan(self, width, height, channels, roi=None, options=None):
        """The engine's wire.ReadPlan for a region (x, y, w, h) of a width x height image."""
        opts = _options(options)
        with self._lock:
            self._ensure_worker()
            job_id = self._send_request({
                "type": wire.PLAN, "width": int(width), "height": int(height),
                "channels": int(channels), "roi": _roi_to_wire(roi),
                "options": opts.to_wire()})
            header, _ = self._wait_for(job_id, self.request_timeout)
        return wire.ReadPlan.from_wire(header)

    def upscale(self, pixels, width, height, channels, dtype, roi=None, options=None,
                on_progress=None, is_cancelled=None, on_tile=None):
        """Upscale packed pixels (rows of width*channels samples); return an UpscaleResult.

        roi: (x, y, w, h) in input pixels. options: a wire.UpscaleOptions or its dict.
        on_progress(wire.Progress) after each tile; on_tile(x, y, w, h, data) with each
        finished output tile; is_cancelled() is polled and a True stops the job
        (CancelledError).
        """
        view = jobs.check_pixels(pixels, width, height, channels, dtype)
        opts = _options(options)
        with self._lock:
            self._ensure_worker()
            return jobs.run_upscale(self, view, int(width), int(height), int(channels), dtype,
                                    roi, opts, on_progress, is_cancelled, on_tile)

    def last_log_lines(self, n=40):
        """The last n lines of the worker log, for error dialogs.

        After a crash, the head of what the worker wrote to stderr (e.g. "Fatal Python error:
        Segmentation fault" and the stack) takes up to half of them.
        """
        crash = self._last_crash_stderr[:n // 2]
        if crash:
            crash = ["--- worker stderr ---"] + crash[:max(0, n // 2 - 1)]
        lines = tail_lines(self.log_path, n - len(crash)) if n > len(crash) else []
        return lines + crash

    def close(self):
        """Ask the worker to finish, wait briefly, kill it if needed; remove transfer files."""
        with self._lock:
            worker = self._worker
            if worker is not None:
                try:
                    self._write_frame({"type": wire.SHUTDOWN})
                except BridgeError:
                    pass
                worker.close_stdin()
                if not worker.wait_exit(5.0):
                    worker.kill()
                self._reap()
            if self._transfer_dir:
                shutil.rmtree(self._transfer_dir, ignore_errors=True)
                self._transfer_dir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    # -- worker lifecycle ---------------------------------------------------------------
    def _command(self):
        """The argv that starts the worker."""
        if not self.python:
            raise ConfigError(
                "No PocketSR engine is configured: the plug-in config %s names no \"python\". "
                "Run the PocketSR installer, or set POCKETSR_PYTHON to the engine's Python."
                % config_path())
        if not (os.path.isfile(self.python) and os.access(self.python, os.X_OK)):
            raise ConfigError(
                "The PocketSR engine's Python was not found at %s (from %s). Re-run the "
                "PocketSR installer or fix \"python\" in the plug-in config."
                % (self.python, self._config_source))
        return [self.python, "-m", WORKER_MODULE]

    def _worker_env(self):
        """The worker's environment: ours, plus the log folder and our pid."""
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        env["POCKETSR_LOG_DIR"] = self.log_dir
        env["POCKETSR_PARENT_PID"] = str(os.getpid())
        env["PYTHONUNBUFFERED"] = "1"
        # The host's own Python settings must not leak into the engine's interpreter.
        for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE"):
            if not (self.env and key in self.env):
                env.pop(key, None)
        if _PY2:
            env = dict((str(k), str(v)) for k, v in env.items())
        return env

    def _ensure_worker(self):
        """Start the worker and shake hands if none is running."""
        if self._worker is not None and self._worker.alive():
            return
        if self._worker is not None:
            self._reap()
        argv = self._command()
        if self._transfer_dir is None:
            remove_stale_transfer_dirs()
            self._transfer_dir = tempfile.mkdtemp(prefix="pocketsr-%d-" % os.getpid())
        try:
            self._worker = WorkerProcess(argv, self._worker_env(), self.log_dir, FrameReader)
        except (IOError, OSError) as exc:
            self._worker = None
            raise WorkerStartError("The PocketSR engine could not be started with %s: %s"
                                   % (self.python, exc), log_path=self.log_path)
        self._last_crash_stderr = []
        self._handshake()

    def _handshake(self):
        """Exchange hello frames; a protocol mismatch becomes VersionMismatchError."""
        job_id = self._send_request({
            "type": wire.HELLO, "protocol": self.protocol_version, "client": "pocketsr-bridge",
            "client_version": self.client_version, "python": sys.version.split()[0],
            "models_dir": self.models_dir,
        })
        try:
            header, _ = self._wait_for(job_id, self.start_timeout, starting=True)
        except EngineError as exc:
            if exc.code == wire.VERSION_MISMATCH:
                self._kill_and_reap()
                raise VersionMismatchError(self._mismatch_message(exc.header),
                                           log_path=self.log_path)
            raise
        if header.get("protocol") != self.protocol_version:
            self._kill_and_reap()
            raise VersionMismatchError(self._mismatch_message(header), log_path=self.log_path)
        self.worker_info = header

    def _mismatch_message(self, header):
        """'plug-in X needs engine Y' for a version mismatch."""
        return ("PocketSR plug-in %s (protocol %d) needs a PocketSR engine speaking protocol %d, "
                "but the engine at %s is version %s (protocol %s). Install the same version of "
                "the plug-in and the engine." % (
                    self.client_version, self.protocol_version, self.protocol_version,
                    self.python, header.get("engine_version", "?"), header.get("protocol", "?")))

    def _close_stdin(self):
        """Close our end of the worker's stdin (it exits on EOF)."""
        if self._worker is not None:
            self._worker.close_stdin()

    def _reap(self):
        """Wait for the dead worker, close its pipes, forget it."""
        if self._worker is not None:
            self._worker.reap()
            self._worker = None

    def _kill_and_reap(self):
        """Kill the worker now and forget it."""
        if self._worker is not None:
            self._worker.kill()
            self._reap()

    def _crash_error(self):
        """WorkerCrashedError describing how the worker ended; the worker is reaped."""
        worker = self._worker
        pid = worker.pid
        if not worker.wait_exit(2.0):
            worker.kill()
            worker.proc.wait()
        code = worker.proc.returncode
        self._reap()
        self._last_crash_stderr = worker.stderr_since_start()
        fatal = [line for line in self._last_crash_stderr if line.startswith("Fatal Python")]
        message = "The PocketSR engine worker (pid %d) %s%s. Your image was not changed. " \
                  "The engine log is %s." % (pid, describe_exit(code),
                                             ": " + fatal[0] if fatal else "", self.log_path)
        return WorkerCrashedError(message, returncode=code, log_path=self.log_path)

    def _abandon(self, error):
        """Kill the worker after a protocol failure or timeout and return error to raise."""
        self._kill_and_reap()
        return error

    # -- frames -------------------------------------------------------------------------
    def _write_frame(self, header, payload=None):
        """Send one frame; a broken pipe means the worker died."""
        if self._worker is None:
            raise WorkerStartError("The PocketSR engine worker is not running.")
        view = bytes_view(payload) if payload is not None else None
        size = nbytes(view) if view is not None else 0
        try:
            write_all(self._worker.stdin, encode_header(header, size))
            if size:
                write_all(self._worker.stdin, view)
        except (IOError, OSError, ValueError):
            raise self._crash_error()

    def _send_request(self, header, payload=None):
        """Give header a fresh id, send it, return the id."""
        job_id = self._next_id
        self._next_id += 1
        header = dict(header)
        header["id"] = job_id
        self._write_frame(header, payload)
        return job_id

    def _next_frame(self, deadline):
        """The next frame from the worker, or None at deadline; raises on EOF and garbage."""
        reader = self._worker.reader
        while True:
            timeout = self.poll_interval if deadline is None else min(
                self.poll_interval, max(0.0, deadline - time.time()))
            try:
                kind, header, payload = reader.frames.get(timeout=timeout)
            except queue.Empty:
                started = reader.partial_since
                if started is not None and time.time() - started > self.frame_timeout:
                    raise self._abandon(ProtocolError(
                        "The engine worker sent an incomplete frame and then nothing for %.0f s."
                        % self.frame_timeout, log_path=self.log_path))
                if deadline is not None and time.time() >= deadline:
                    return None
                return "idle"
            if kind == "frame":
                return header, payload
            if kind == "eof":
                raise self._crash_error()
            # A garbage stream from a dead process is a crash; from a live one, a protocol error.
            if not self._worker.alive():
                raise self._crash_error()
            header.log_path = self.log_path
            raise self._abandon(header)

    def _wait_for(self, job_id, timeout, starting=False):
        """Wait for the reply to a request (skipping stray progress); raise on error frames."""
        deadline = time.time() + timeout
        while True:
            got = self._next_frame(deadline)
            if got is None:
                what = "start" if starting else "answer"
                raise self._abandon(WorkerTimeoutError(
                    "The PocketSR engine worker did not %s within %.0f s and was stopped."
                    % (what, timeout), log_path=self.log_path))
            if got == "idle":
                continue
            header, payload = got
            if header.get("id") not in (job_id, None):
                continue
            if header["type"] == wire.ERROR:
                raise from_error_frame(header, self.log_path)
            return header, payload

    def _transfer_path(self, job_id, what):
        """A file in our transfer folder for a big payload."""
        return os.path.join(self._transfer_dir, "job%d-%s.raw" % (job_id, what))


def _options(options):
    """wire.UpscaleOptions from what a caller gave; a bad value is an invalid_option error."""
    if isinstance(options, wire.UpscaleOptions):
        return options
    try:
        return wire.UpscaleOptions.from_wire(dict(options or {}))
    except wire.WireError as exc:
        raise EngineError(str(exc), code=wire.INVALID_OPTION)


def _roi_to_wire(roi):
    """A caller's (x, y, w, h) or Rect as a wire list, or None."""
    return None if not roi else [int(v) for v in roi]
