# -*- coding: utf-8 -*-
"""Host side of the PocketSR engine: starts `pocketsr worker` and speaks its frame protocol.

Standard library only; this one file runs on Python 2.7 (GIMP 2.10) and Python 3.6+
(GIMP 3, Krita). Keep it that way: no f-strings, no annotations, bytes/str care.

    from bridge import connect
    engine = connect()                      # reads the plug-in config
    result = engine.upscale(pixels, width, height, 4, "uint8", on_progress=...)
    result.data, result.width, result.height
    engine.close()
"""

from __future__ import absolute_import, division, print_function

import collections
import errno
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

try:
    import queue
except ImportError:  # Python 2
    import Queue as queue  # noqa: N813

__all__ = [
    "Bridge", "EngineClient", "InProcessEngine", "connect", "load_config", "config_path",
    "default_log_dir", "UpscaleResult", "ProgressInfo", "BridgeError", "ConfigError",
    "WorkerStartError", "VersionMismatchError", "ProtocolError", "WorkerCrashedError",
    "WorkerTimeoutError", "CancelledError", "EngineError",
]

BRIDGE_VERSION = "0.1.0"
PROTOCOL_VERSION = 1  # must equal pocketsr.engine.protocol.PROTOCOL_VERSION
MAGIC = b"PSRF"
PREFIX = struct.Struct(">4sIQ")
MAX_HEADER_BYTES = 1 << 20
MAX_INLINE_PAYLOAD = 1 << 31
DEFAULT_FILE_THRESHOLD = 4 << 20
ITEMSIZE = {"uint8": 1, "uint16": 2, "float16": 2, "float32": 4}
WORKER_MODULE = "pocketsr.engine.worker"
_PY2 = sys.version_info[0] == 2
_STRING_TYPES = (basestring,) if _PY2 else (str,)  # noqa: F821

class UpscaleResult(collections.namedtuple(
        "UpscaleResult", "data width height channels dtype elapsed")):
    """The upscaled pixels (bytes, packed rows) and their layout."""

    __slots__ = ()


class ProgressInfo(collections.namedtuple("ProgressInfo", "done total elapsed eta rect")):
    """Tiles done of total, seconds elapsed, seconds left (or None), finished output rect."""

    __slots__ = ()


# --- errors -----------------------------------------------------------------------------
class BridgeError(Exception):
    """Base of every bridge error: `code` is stable, str() is a sentence for the user."""

    code = "bridge"

    def __init__(self, message, code=None, log_path=None):
        Exception.__init__(self, message)
        self.message = message
        if code is not None:
            self.code = code
        self.log_path = log_path


class ConfigError(BridgeError):
    """The plug-in configuration is missing or wrong (e.g. no engine Python at that path)."""

    code = "config"


class WorkerStartError(BridgeError):
    """The engine worker could not be started or did not greet us."""

    code = "worker_start"


class VersionMismatchError(BridgeError):
    """The plug-in and the engine speak different protocol versions."""

    code = "version_mismatch"


class ProtocolError(BridgeError):
    """The worker sent garbage, a truncated frame, or an unexpected message."""

    code = "protocol"


class WorkerCrashedError(BridgeError):
    """The worker died (crash, kill, out of memory); the next request starts a new one."""

    code = "worker_crashed"

    def __init__(self, message, returncode=None, log_path=None):
        BridgeError.__init__(self, message, log_path=log_path)
        self.returncode = returncode


class WorkerTimeoutError(BridgeError):
    """The worker did not answer in time and was stopped."""

    code = "timeout"


class CancelledError(BridgeError):
    """The job was cancelled; the host's image is untouched."""

    code = "cancelled"


class EngineError(BridgeError):
    """The engine refused or failed the job; `code` is the engine's (invalid_image, model...)."""

    code = "engine"


# --- configuration ----------------------------------------------------------------------
def _home():
    """The user's home folder."""
    return os.path.expanduser("~")


def config_path():
    """Where the plug-in config lives: POCKETSR_CONFIG, else the platform's config folder."""
    override = os.environ.get("POCKETSR_CONFIG")
    if override:
        return override
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or os.path.join(_home(), "AppData", "Roaming")
        return os.path.join(base, "PocketSR", "plugin.json")
    if sys.platform == "darwin":
        return os.path.join(_home(), "Library", "Application Support", "PocketSR", "plugin.json")
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(_home(), ".config")
    return os.path.join(base, "pocketsr", "plugin.json")


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


def default_log_dir():
    """The engine's log folder; the same rule as pocketsr.engine.worker.default_log_dir."""
    override = os.environ.get("POCKETSR_LOG_DIR")
    if override:
        return override
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(_home(), "AppData", "Local")
        return os.path.join(base, "PocketSR", "Logs")
    if sys.platform == "darwin":
        return os.path.join(_home(), "Library", "Logs", "PocketSR")
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(_home(), ".local", "state")
    return os.path.join(base, "pocketsr", "logs")


def _tail_lines(path, n):
    """The last n lines of a text file ([] when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024 - 200 * n))
            data = f.read()
    except (IOError, OSError):
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-n:] if n > 0 else []


def _signal_name(num):
    """SIGKILL for 9, etc."""
    for name in dir(signal):
        if name.startswith("SIG") and not name.startswith("SIG_") and getattr(signal, name) == num:
            return name
    return "signal %d" % num


def _describe_exit(returncode):
    """A sentence fragment for how a process ended."""
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        sig = -returncode
        name = _signal_name(sig)
        why = {
            getattr(signal, "SIGKILL", -1): " (killed, for example by the system when memory ran out)",
            getattr(signal, "SIGSEGV", -1): " (a crash in native code)",
            getattr(signal, "SIGABRT", -1): " (aborted by native code)",
            getattr(signal, "SIGBUS", -1): " (a crash in native code)",
            getattr(signal, "SIGTERM", -1): " (terminated)",
        }.get(sig, "")
        return "was killed by %s%s" % (name, why)
    if returncode == 0:
        return "exited unexpectedly"
    return "exited with code %d" % returncode


def _pid_alive(pid):
    """True when a process with this pid exists (POSIX)."""
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return True


def _remove_stale_transfer_dirs():
    """Delete transfer folders left by bridges whose process died (e.g. a killed GIMP plug-in)."""
    if sys.platform == "win32":
        return
    root = tempfile.gettempdir()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        parts = name.split("-")
        if len(parts) >= 3 and parts[0] == "pocketsr" and parts[1].isdigit():
            if not _pid_alive(int(parts[1])):
                shutil.rmtree(os.path.join(root, name), ignore_errors=True)


class _Launcher(threading.Thread):
    """One long-lived thread that starts every worker.

    Linux's parent-death signal fires when the *thread* that forked the worker ends, so
    workers must not be started from a host's short-lived job threads.
    """

    _instance = None
    _guard = threading.Lock()

    def __init__(self):
        threading.Thread.__init__(self, name="pocketsr-bridge-launcher")
        self.daemon = True
        self.requests = queue.Queue()

    @classmethod
    def popen(cls, argv, **kwargs):
        """subprocess.Popen(argv, **kwargs), run on the launcher thread."""
        with cls._guard:
            if cls._instance is None or not cls._instance.is_alive():
                cls._instance = _Launcher()
                cls._instance.start()
        reply = queue.Queue()
        cls._instance.requests.put((argv, kwargs, reply))
        ok, value = reply.get()
        if not ok:
            raise value
        return value

    def run(self):
        while True:
            argv, kwargs, reply = self.requests.get()
            try:
                reply.put((True, subprocess.Popen(argv, **kwargs)))
            except Exception as exc:  # noqa: BLE001 - handed back to the caller's thread
                reply.put((False, exc))


# --- frames -----------------------------------------------------------------------------
def _as_bytes_view(data):
    """A flat byte view of any buffer (bytes, bytearray, memoryview, array)."""
    try:
        view = memoryview(data)
    except TypeError:  # Python 2 buffer/array objects only speak the old buffer protocol
        view = memoryview(bytes(data))
    if not _PY2 and (view.format != "B" or view.ndim != 1):
        view = view.cast("B")
    return view


def _nbytes(view):
    """Byte length of a memoryview on both Pythons (2.7's has no .nbytes)."""
    if hasattr(view, "nbytes"):
        return view.nbytes
    count = view.itemsize
    for dim in view.shape or ():
        count *= dim
    return count


def _write_all(raw, data):
    """Write every byte of data to an unbuffered raw file (which may write partially)."""
    view = _as_bytes_view(data)
    total = _nbytes(view)
    done = 0
    while done < total:
        n = raw.write(view[done:done + (1 << 24)])
        done += n or 0


def _read_rect(path, rect, image_width, pixel_bytes):
    """The packed pixels of rect from a raw row-major image file of image_width pixels."""
    x, y, w, h = rect
    row_bytes = w * pixel_bytes
    stride = image_width * pixel_bytes
    data = bytearray(row_bytes * h)
    with io.open(path, "rb", buffering=0) as f:
        for row in range(h):
            f.seek((y + row) * stride + x * pixel_bytes)
            chunk = f.read(row_bytes)
            data[row * row_bytes:(row + 1) * row_bytes] = chunk
    return bytes(data)


def _encode_frame(header, payload_len):
    """Prefix plus JSON header bytes."""
    body = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return PREFIX.pack(MAGIC, len(body), payload_len) + body


class _FrameReader(threading.Thread):
    """Reads frames from the worker's stdout into a queue, so waits can time out and poll."""

    def __init__(self, stream):
        threading.Thread.__init__(self, name="pocketsr-bridge-reader")
        self.daemon = True
        self.stream = stream
        self.frames = queue.Queue()
        # Set while a frame is half read: a worker stuck mid-frame is a protocol error.
        self.partial_since = None

    def _read_exact(self, n, what, first=False):
        """n bytes, or a ProtocolError if the stream ends inside the frame."""
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            count = self.stream.readinto(view[got:])
            if not count:
                if first and got == 0:
                    return None
                raise ProtocolError(
                    "The engine worker's output ended inside a frame %s (%d of %d bytes)."
                    % (what, got, n))
            if self.partial_since is None:
                self.partial_since = time.time()
            got += count
        return buf

    def run(self):
        try:
            while True:
                self.partial_since = None
                prefix = self._read_exact(PREFIX.size, "prefix", first=True)
                if prefix is None:
                    self.frames.put(("eof", None, None))
                    return
                magic, header_len, payload_len = PREFIX.unpack(bytes(prefix))
                if magic != MAGIC:
                    raise ProtocolError(
                        "The engine worker printed something that is not a PocketSR frame "
                        "(%r); is the configured Python really the engine's?" % bytes(prefix))
                if header_len > MAX_HEADER_BYTES or payload_len > MAX_INLINE_PAYLOAD:
                    raise ProtocolError("The engine worker sent a frame with impossible sizes.")
                raw = self._read_exact(header_len, "header")
                try:
                    header = json.loads(bytes(raw).decode("utf-8"))
                except ValueError:
                    raise ProtocolError("The engine worker sent a frame header that is not JSON.")
                if not isinstance(header, dict) or "type" not in header:
                    raise ProtocolError("The engine worker sent a frame header without a type.")
                payload = self._read_exact(payload_len, "payload") if payload_len else b""
                self.partial_since = None
                self.frames.put(("frame", header, payload))
        except ProtocolError as exc:
            self.frames.put(("error", exc, None))
        except (IOError, OSError, ValueError) as exc:
            self.frames.put(("error", ProtocolError("Reading from the engine worker failed: %s"
                                                    % exc), None))


# --- the out-of-process client ----------------------------------------------------------
class Bridge(object):
    """Runs the engine in a worker process and forwards requests to it.

    python: the engine environment's interpreter (default: POCKETSR_PYTHON, then the config's
    "python"). Timeouts are in seconds. A dead worker is replaced on the next request.
    """

    protocol_version = PROTOCOL_VERSION
    client_version = BRIDGE_VERSION

    def __init__(self, python=None, config=None, log_dir=None, models_dir=None, env=None,
                 start_timeout=60.0, request_timeout=120.0, frame_timeout=10.0,
                 cancel_grace=10.0, file_threshold=DEFAULT_FILE_THRESHOLD, poll_interval=0.05):
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
        self._proc = None
        self._reader = None
        self._stdin = None
        self._stderr_file = None
        self._stderr_offset = 0
        self._last_crash_stderr = []
        self._next_id = 1
        self._transfer_dir = None
        self._lock = threading.RLock()

    # -- public API ---------------------------------------------------------------------
    @property
    def log_path(self):
        """The worker's rotating log file."""
        return os.path.join(self.log_dir, "worker.log")

    @property
    def worker_pid(self):
        """The running worker's pid, or None."""
        return self._proc.pid if self._proc is not None else None

    def info(self):
        """Engine version, protocol, models and devices, as a dict."""
        with self._lock:
            self._ensure_worker()
            job_id = self._send_request({"type": "info"})
            header, _ = self._wait_for(job_id, self.request_timeout)
            return dict((k, v) for k, v in header.items() if k not in ("type", "id"))

    def upscale(self, pixels, width, height, channels, dtype, roi=None, options=None,
                on_progress=None, is_cancelled=None, on_tile=None):
        """Upscale packed pixels (rows of width*channels samples); return an UpscaleResult.

        roi: (x, y, w, h) in input pixels. options: model, scale, size, tile, device, threads.
        on_progress(ProgressInfo) after each tile; on_tile(x, y, w, h, data) with each finished
        output tile; is_cancelled() is polled and a True stops the job (CancelledError).
        """
        if dtype not in ITEMSIZE:
            raise EngineError("Unsupported pixel type %r (use %s)." % (dtype, ", ".join(
                sorted(ITEMSIZE))), code="invalid_image")
        view = _as_bytes_view(pixels)
        expected = int(width) * int(height) * int(channels) * ITEMSIZE[dtype]
        if _nbytes(view) != expected:
            raise EngineError("%dx%d with %d %s channels needs %d bytes, got %d." % (
                width, height, channels, dtype, expected, _nbytes(view)), code="invalid_image")
        with self._lock:
            self._ensure_worker()
            return self._run_upscale(view, expected, int(width), int(height), int(channels),
                                     dtype, roi, options, on_progress, is_cancelled, on_tile)

    def last_log_lines(self, n=40):
        """The last n lines of the worker log, for error dialogs.

        After a crash, the head of what the worker wrote to stderr (e.g. "Fatal Python error:
        Segmentation fault" and the stack) takes up to half of them.
        """
        crash = self._last_crash_stderr[:n // 2]
        if crash:
            crash = ["--- worker stderr ---"] + crash[:max(0, n // 2 - 1)]
        lines = _tail_lines(self.log_path, n - len(crash)) if n > len(crash) else []
        return lines + crash

    def close(self):
        """Ask the worker to finish, wait briefly, kill it if needed; remove transfer files."""
        with self._lock:
            proc = self._proc
            if proc is not None:
                try:
                    self._write_frame({"type": "shutdown"})
                except BridgeError:
                    pass
                self._close_stdin()
                if not self._wait_exit(proc, 5.0):
                    self._kill()
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

    def _open_stderr_log(self):
        """The file the worker's stderr goes to (faulthandler tracebacks land there)."""
        try:
            if not os.path.isdir(self.log_dir):
                os.makedirs(self.log_dir)
            path = os.path.join(self.log_dir, "worker-stderr.log")
            if os.path.exists(path) and os.path.getsize(path) > (1 << 20):
                os.remove(path)
            f = open(path, "ab")
            f.seek(0, os.SEEK_END)
            self._stderr_offset = f.tell()
            return f
        except (IOError, OSError):
            return None

    def _ensure_worker(self):
        """Start the worker and shake hands if none is running."""
        if self._proc is not None and self._proc.poll() is None:
            return
        if self._proc is not None:
            self._reap()
        argv = self._command()
        if self._transfer_dir is None:
            _remove_stale_transfer_dirs()
            self._transfer_dir = tempfile.mkdtemp(prefix="pocketsr-%d-" % os.getpid())
        self._stderr_file = self._open_stderr_log()
        kwargs = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = 0x08000000  # CREATE_NO_WINDOW
        else:
            kwargs["close_fds"] = True
        try:
            self._proc = _Launcher.popen(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=self._stderr_file or open(os.devnull, "wb"), bufsize=0,
                env=self._worker_env(), **kwargs)
        except (IOError, OSError) as exc:
            self._proc = None
            raise WorkerStartError("The PocketSR engine could not be started with %s: %s"
                                   % (self.python, exc), log_path=self.log_path)
        self._stdin = io.open(self._proc.stdin.fileno(), "wb", buffering=0, closefd=False)
        stdout = io.open(self._proc.stdout.fileno(), "rb", buffering=0, closefd=False)
        self._reader = _FrameReader(stdout)
        self._reader.start()
        self._last_crash_stderr = []
        self._handshake()

    def _handshake(self):
        """Exchange hello frames; a protocol mismatch becomes VersionMismatchError."""
        job_id = self._send_request({
            "type": "hello", "protocol": self.protocol_version, "client": "pocketsr-bridge",
            "client_version": self.client_version, "python": sys.version.split()[0],
            "models_dir": self.models_dir, "transfer_dir": self._transfer_dir,
        })
        try:
            header, _ = self._wait_for(job_id, self.start_timeout, starting=True)
        except EngineError as exc:
            if exc.code == "version_mismatch":
                self._kill()
                self._reap()
                raise VersionMismatchError(self._mismatch_message(exc.header),
                                           log_path=self.log_path)
            raise
        if header.get("protocol") != self.protocol_version:
            self._kill()
            self._reap()
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
        for f in (self._stdin, self._proc.stdin if self._proc else None):
            try:
                if f is not None:
                    f.close()
            except (IOError, OSError):
                pass

    def _wait_exit(self, proc, timeout):
        """Wait up to timeout seconds for proc to exit; True if it did."""
        deadline = time.time() + timeout
        while proc.poll() is None:
            if time.time() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _kill(self):
        """Kill the worker now."""
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.kill()
            except OSError:
                pass

    def _reap(self):
        """Wait for the dead worker, close its pipes, forget it."""
        proc = self._proc
        if proc is None:
            return
        self._close_stdin()
        if not self._wait_exit(proc, 5.0):
            self._kill()
            proc.wait()
        try:
            proc.stdout.close()
        except (IOError, OSError):
            pass
        if self._reader is not None:
            self._reader.join(1.0)
        if self._stderr_file is not None:
            self._stderr_file.close()
            self._stderr_file = None
        self._proc = None
        self._reader = None
        self._stdin = None

    def _crash_error(self):
        """WorkerCrashedError describing how the worker ended; the worker is reaped."""
        proc = self._proc
        pid = proc.pid
        if not self._wait_exit(proc, 2.0):
            self._kill()
            proc.wait()
        code = proc.returncode
        self._reap()
        self._last_crash_stderr = self._stderr_since_start()
        fatal = [line for line in self._last_crash_stderr if line.startswith("Fatal Python")]
        message = "The PocketSR engine worker (pid %d) %s%s. Your image was not changed. " \
                  "The engine log is %s." % (pid, _describe_exit(code),
                                             ": " + fatal[0] if fatal else "", self.log_path)
        return WorkerCrashedError(message, returncode=code, log_path=self.log_path)

    def _stderr_since_start(self, n=200):
        """The first n lines the (now dead) worker wrote to stderr."""
        path = os.path.join(self.log_dir, "worker-stderr.log")
        try:
            with open(path, "rb") as f:
                f.seek(self._stderr_offset)
                data = f.read()
        except (IOError, OSError):
            return []
        return data.decode("utf-8", "replace").splitlines()[:n]

    def _abandon(self, error):
        """Kill the worker after a protocol failure or timeout and return error to raise."""
        self._kill()
        self._reap()
        return error

    # -- frames -------------------------------------------------------------------------
    def _write_frame(self, header, payload=None):
        """Send one frame; a broken pipe means the worker died."""
        if self._proc is None or self._stdin is None:
            raise WorkerStartError("The PocketSR engine worker is not running.")
        view = _as_bytes_view(payload) if payload is not None else None
        size = _nbytes(view) if view is not None else 0
        try:
            self._write_all(_encode_frame(header, size))
            if size:
                self._write_all(view)
        except (IOError, OSError, ValueError):
            raise self._crash_error()

    def _write_all(self, data):
        """Write every byte of data to the worker's stdin."""
        _write_all(self._stdin, data)

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
        reader = self._reader
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
            if self._proc.poll() is not None:
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
            if header["type"] == "error":
                raise self._engine_error(header)
            return header, payload

    def _engine_error(self, header):
        """The exception for an error frame; keeps the engine's code and sentence."""
        code = header.get("code", "engine")
        message = header.get("message") or "The engine reported an error."
        if code == "cancelled":
            return CancelledError(message, log_path=self.log_path)
        if code == "protocol":
            return ProtocolError(message, log_path=self.log_path)
        exc = EngineError(message, code=code, log_path=self.log_path)
        exc.header = header
        return exc

    # -- upscale ------------------------------------------------------------------------
    def _transfer_path(self, job_id, what):
        """A file in our transfer folder for a big payload."""
        return os.path.join(self._transfer_dir, "job%d-%s.raw" % (job_id, what))

    def _run_upscale(self, view, nbytes, width, height, channels, dtype, roi, options,
                     on_progress, is_cancelled, on_tile):
        """Send the job, pump progress/tiles, poll cancel, return the result."""
        job_id = self._next_id
        header = {
            "type": "upscale", "width": width, "height": height, "channels": channels,
            "dtype": dtype, "roi": list(roi) if roi else None, "options": dict(options or {}),
            "tiles": on_tile is not None,
        }
        in_path = out_path = None
        payload = view
        if nbytes > self.file_threshold:
            in_path = self._transfer_path(job_id, "in")
            with io.open(in_path, "wb", buffering=0) as f:
                _write_all(f, view)
            header["input"] = {"file": in_path}
            payload = None
        if self._expected_output_bytes(nbytes, width, height, roi, options) > self.file_threshold:
            out_path = self._transfer_path(job_id, "out")
            header["output"] = {"file": out_path}
        try:
            self._send_request(header, payload)
            return self._pump(job_id, on_progress, is_cancelled, on_tile,
                              channels * ITEMSIZE[dtype])
        finally:
            for path in (in_path, out_path):
                if path and os.path.exists(path):
                    try:
                        os.remove(path)
                    except OSError:
                        pass

    def _expected_output_bytes(self, nbytes, width, height, roi, options):
        """A rough output size, to choose a file for big results before the job runs."""
        options = options or {}
        per_pixel = nbytes // (width * height)
        if options.get("size"):
            w, h = options["size"]
            return int(w * h * per_pixel)
        area = roi[2] * roi[3] if roi else width * height
        scale = float(options.get("scale") or 4)
        return int(area * per_pixel * scale * scale)

    def _pump(self, job_id, on_progress, is_cancelled, on_tile, pixel_bytes):
        """Handle frames for a running job until its result or error."""
        cancel_sent_at = None
        while True:
            if cancel_sent_at is None and is_cancelled is not None and is_cancelled():
                cancel_sent_at = time.time()
                self._write_frame({"type": "cancel", "id": job_id})
            deadline = None if cancel_sent_at is None else cancel_sent_at + self.cancel_grace
            got = self._next_frame(deadline)
            if got is None:
                raise self._abandon(CancelledError(
                    "Cancelled; the engine did not stop within %.0f s, so it was stopped."
                    % self.cancel_grace, log_path=self.log_path))
            if got == "idle":
                continue
            header, payload = got
            if header.get("id") != job_id:
                continue
            kind = header["type"]
            if kind == "progress":
                self._deliver_progress(header, payload, on_progress, on_tile, pixel_bytes)
            elif kind == "result":
                return self._result(header, payload)
            elif kind == "error":
                raise self._engine_error(header)

    def _deliver_progress(self, header, payload, on_progress, on_tile, pixel_bytes):
        """Call the host's callbacks for one progress frame."""
        rect = tuple(header["rect"]) if header.get("rect") else None
        if on_tile is not None and rect is not None:
            shared = header.get("in_output")
            if shared:
                data = _read_rect(shared["file"], rect, shared["width"], pixel_bytes)
            else:
                data = bytes(payload)
            if data:
                on_tile(rect[0], rect[1], rect[2], rect[3], data)
        if on_progress is not None:
            on_progress(ProgressInfo(header.get("done", 0), header.get("total", 0),
                                     header.get("elapsed", 0.0), header.get("eta"), rect))

    def _result(self, header, payload):
        """The UpscaleResult of a result frame (reading the output file if there is one)."""
        output = header.get("output") or {}
        if output.get("file"):
            with open(output["file"], "rb") as f:
                data = f.read()
        else:
            data = bytes(payload)
        expected = header["width"] * header["height"] * header["channels"] * ITEMSIZE.get(
            header["dtype"], 0)
        if len(data) != expected:
            raise ProtocolError("The engine's result has %d bytes where %d were expected."
                                % (len(data), expected), log_path=self.log_path)
        return UpscaleResult(data, header["width"], header["height"], header["channels"],
                             header["dtype"], header.get("elapsed"))


EngineClient = Bridge


# --- the in-process path ----------------------------------------------------------------
class InProcessEngine(object):
    """The Bridge API on top of pocketsr.engine imported into this Python (configured only)."""

    def __init__(self, models_dir=None, log_dir=None):
        from pocketsr.engine import UpscalerCache  # fail early with ImportError
        self.models_dir = models_dir
        self.log_dir = log_dir or default_log_dir()
        self._cache = UpscalerCache(models_dir)

    @property
    def log_path(self):
        """The engine log file (the in-process engine logs through the host's logging)."""
        return os.path.join(self.log_dir, "worker.log")

    def info(self):
        """Engine version, protocol, models and devices, as a dict."""
        import platform

        from pocketsr import __version__
        from pocketsr.engine import worker
        return {"engine_version": __version__, "protocol": PROTOCOL_VERSION,
                "python": platform.python_version(),
                "models": worker.list_models(self.models_dir), "devices": worker._devices(),
                "log_path": None}

    def upscale(self, pixels, width, height, channels, dtype, roi=None, options=None,
                on_progress=None, is_cancelled=None, on_tile=None):
        """Same contract as Bridge.upscale, run in this process by the worker's own code."""
        from pocketsr.engine import errors, worker
        from pocketsr.engine.types import CancelToken

        token = CancelToken()

        def progress(p):
            if is_cancelled is not None and is_cancelled():
                token.cancel()
            rect = (p.rect.x, p.rect.y, p.rect.width, p.rect.height) if p.rect else None
            if on_tile is not None and rect is not None and p.pixels is not None:
                on_tile(rect[0], rect[1], rect[2], rect[3], p.pixels.copy(order="C").tobytes())
            if on_progress is not None:
                on_progress(ProgressInfo(p.done, p.total, p.elapsed, p.eta, rect))

        if is_cancelled is not None and is_cancelled():
            raise CancelledError("Cancelled.")
        start = time.time()
        try:
            data, w, h, c, dt = worker.run_local(
                self._cache, pixels, width, height, channels, dtype, roi,
                dict(options or {}), token, progress)
        except errors.Cancelled as exc:
            raise CancelledError(str(exc) or "Cancelled.")
        except errors.PocketSRError as exc:
            raise EngineError(str(exc), code=exc.code)
        return UpscaleResult(data, w, h, c, dt, time.time() - start)

    def last_log_lines(self, n=40):
        """The last n lines of the engine log."""
        return _tail_lines(self.log_path, n)

    def close(self):
        """Drop loaded models."""
        self._cache.clear()


def connect(config=None, **kwargs):
    """A Bridge, or an InProcessEngine when the config says "in_process": true."""
    cfg = load_config() if config is None else dict(config)
    if cfg.get("in_process") is True:
        return InProcessEngine(models_dir=cfg.get("models_dir"), log_dir=cfg.get("log_dir"))
    return Bridge(config=cfg, **kwargs)
