"""`pocketsr worker`: serves bridge requests on stdin/stdout until stdin closes."""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import logging.handlers
import os
import platform
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from pocketsr import __version__
from pocketsr.engine import errors, protocol
from pocketsr.engine.protocol import Frame
from pocketsr.engine.types import CancelToken, Progress, Rect, Size
from pocketsr.engine.upscaler import UpscalerCache

log = logging.getLogger("pocketsr.worker")

LOG_NAME = "worker.log"
LOG_MAX_BYTES = 1 << 20
LOG_BACKUPS = 3
# After stdin closes, a job still inside a tile gets this long before the process just exits.
EXIT_GRACE_S = 10.0
PR_SET_PDEATHSIG = 1


def default_log_dir() -> Path:
    """The user's log folder for PocketSR: POCKETSR_LOG_DIR, else the platform's convention."""
    override = os.environ.get("POCKETSR_LOG_DIR")
    if override:
        return Path(override)
    home = Path.home()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "PocketSR" / "Logs"
    if sys.platform == "darwin":
        return home / "Library" / "Logs" / "PocketSR"
    state = os.environ.get("XDG_STATE_HOME") or str(home / ".local" / "state")
    return Path(state) / "pocketsr" / "logs"


def setup_logging(log_dir: Path) -> Path:
    """Send this process's log records to a rotating worker.log in log_dir; return its path."""
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_NAME
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(
        logging.Formatter("%(asctime)s pid=%(process)d %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """On Linux, ask the kernel to send sig when the parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parent_already_gone() -> bool:
    """True when the host that started us died before the death signal was armed."""
    expected = os.environ.get("POCKETSR_PARENT_PID", "")
    if not expected.isdigit():
        return False
    # Not getppid() != expected: an interpreter wrapper that does not exec sits in between.
    try:
        os.kill(int(expected), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _devices() -> list[str]:
    """Inference devices the engine can use here ("cpu" first)."""
    try:
        from pocketsr.engine.session import available_devices

        return available_devices()
    except Exception:  # info must answer even with a broken runtime
        log.exception("listing devices failed")
        return []


def _model_entry(item: Any) -> dict[str, Any]:
    """A JSON-able description of one model (a ModelInfo, a path or a name)."""
    if hasattr(item, "name") and hasattr(item, "scale"):
        fields = ("name", "scale", "in_channels", "out_channels", "version", "license", "path")
        entry = {k: getattr(item, k) for k in fields if hasattr(item, k)}
        if hasattr(item, "description"):
            entry["description"] = item.description
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in entry.items()}
    return {"name": Path(str(item)).stem if str(item).endswith(".onnx") else str(item)}


def list_models(models_dir: str | None) -> list[dict[str, Any]]:
    """The embedded models plus any .onnx files in the configured models folder."""
    from pocketsr.engine import embedded_models

    found = embedded_models()
    items = found.values() if isinstance(found, dict) else found
    models = [_model_entry(m) for m in items]
    if models_dir and os.path.isdir(models_dir):
        for name in sorted(os.listdir(models_dir)):
            if name.endswith(".onnx"):
                path = os.path.join(models_dir, name)
                models.append({"name": name[: -len(".onnx")], "path": path})
    return models


def _array_shape(width: int, height: int, channels: int) -> tuple[int, ...]:
    """The numpy shape of a packed H×W×C image (H×W for one channel)."""
    return (height, width) if channels == 1 else (height, width, channels)


def _int_field(header: dict[str, Any], key: str, low: int, high: int) -> int:
    """An integer header field within [low, high], else InvalidOptionError."""
    value = header.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise errors.InvalidOptionError(f"'{key}' must be an integer from {low} to {high}")
    return value


def upscale_kwargs(options: dict[str, Any], roi: Any = None) -> dict[str, Any]:
    """Upscaler.upscale keyword arguments from a request's options and ROI."""
    kwargs: dict[str, Any] = {"tile": options.get("tile", "auto")}
    if options.get("scale") is not None:
        kwargs["scale"] = options["scale"]
    if options.get("size"):
        kwargs["size"] = Size(*options["size"])
    if roi:
        kwargs["roi"] = Rect(*roi)
    return kwargs


def pixel_bytes(width: int, height: int, channels: int, dtype: Any) -> int:
    """The bytes of a packed W×H×C image of a wire pixel type (InvalidImageError otherwise)."""
    if dtype not in protocol.DTYPES:
        raise errors.InvalidImageError(f"unsupported pixel type {dtype!r}")
    return width * height * channels * np.dtype(dtype).itemsize


def declared_pixels(header: dict[str, Any]) -> tuple[int, int, int, Any]:
    """(width, height, channels, dtype) of a request's image, the sizes range-checked."""
    width = _int_field(header, "width", 1, 1 << 20)
    height = _int_field(header, "height", 1, 1 << 20)
    channels = _int_field(header, "channels", 1, 4)
    return width, height, channels, header.get("dtype")


def pixels_view(data: Any, width: int, height: int, channels: int, dtype: str) -> np.ndarray:
    """A packed pixel buffer as an H×W[×C] array (no copy), checked against its size."""
    nbytes = pixel_bytes(width, height, channels, dtype)
    if len(data) != nbytes:
        raise errors.InvalidImageError(
            f"{width}x{height}x{channels} {dtype} needs {nbytes} bytes, got {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(_array_shape(width, height, channels))


def cached_upscaler(cache: UpscalerCache, options: dict[str, Any]) -> Any:
    """The Upscaler a request's model/device/threads options ask for."""
    return cache.get(options.get("model"), options.get("device"), options.get("threads"))


def run_local(
    cache: UpscalerCache,
    pixels: Any,
    width: int,
    height: int,
    channels: int,
    dtype: str,
    roi: Any,
    options: dict[str, Any],
    cancel: CancelToken,
    on_progress: Callable[[Progress], None] | None = None,
) -> tuple[bytes, int, int, int, str]:
    """One request run in this process (the bridge's configured in-process path).

    Returns (bytes, width, height, channels, dtype) of the result, as the worker would send it.
    """
    image = pixels_view(pixels, width, height, channels, dtype)
    upscaler = cached_upscaler(cache, options)
    result = upscaler.upscale(
        image, progress=on_progress, cancel=cancel, **upscale_kwargs(options, roi)
    )
    result = np.ascontiguousarray(result)
    out_channels = 1 if result.ndim == 2 else result.shape[2]
    return result.tobytes(), result.shape[1], result.shape[0], out_channels, str(result.dtype)


def request_payload_limit(header: dict[str, Any]) -> int:
    """The most inline payload bytes a request can need: an upscale's pixels, else none."""
    if header.get("type") != protocol.UPSCALE or (header.get("input") or {}).get("file"):
        return 0
    try:
        nbytes = pixel_bytes(*declared_pixels(header))
    except errors.PocketSRError:
        # The job will fail with its own sentence; chunked reading bounds the memory.
        return protocol.MAX_INLINE_PAYLOAD
    return min(protocol.MAX_INLINE_PAYLOAD, nbytes)


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
            "devices": _devices(),
            "log_path": str(self._log_path) if self._log_path else None,
        }

    def _input_array(self, frame: Frame) -> np.ndarray:
        """The request's pixels as an array: a view of the payload or a map of the file."""
        width, height, channels, dtype = declared_pixels(frame.header)
        source = frame.header.get("input") or {}
        if not source.get("file"):
            return pixels_view(frame.payload, width, height, channels, dtype)
        nbytes = pixel_bytes(width, height, channels, dtype)
        path = source["file"]
        if os.path.getsize(path) < nbytes:
            raise errors.InvalidImageError(f"the pixel file holds fewer than {nbytes} bytes")
        return np.memmap(path, dtype=dtype, mode="r", shape=_array_shape(width, height, channels))

    def _upscale(self, frame: Frame) -> None:
        """Run one upscale job, streaming progress (and tiles on request), then the result."""
        h = frame.header
        job_id = h.get("id")
        image = self._input_array(frame)
        options = dict(h.get("options") or {})
        upscaler = cached_upscaler(self._upscalers, options)
        kwargs = upscale_kwargs(options, h.get("roi"))
        want_tiles = bool(h.get("tiles"))
        target = (h.get("output") or {}).get("file")
        out = None
        if target:
            # The engine writes straight into the host's result file: no private result copy.
            shape = _output_shape(upscaler, image, kwargs)
            out = np.memmap(target, dtype=image.dtype, mode="w+", shape=shape)
            out_width = shape[1]

        def on_progress(p: Progress) -> None:
            event: dict[str, Any] = {
                "type": protocol.PROGRESS,
                "id": job_id,
                "done": p.done,
                "total": p.total,
                "elapsed": round(p.elapsed, 4),
                "eta": None if p.eta is None else round(p.eta, 4),
            }
            payload: Any = b""
            if p.rect is not None:
                event["rect"] = [p.rect.x, p.rect.y, p.rect.width, p.rect.height]
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


def _output_shape(upscaler: Any, image: np.ndarray, kwargs: dict[str, Any]) -> tuple[int, ...]:
    """The array shape upscaler.upscale(image, **kwargs) will return."""
    size = upscaler.output_size(
        Size(image.shape[1], image.shape[0]),
        scale=kwargs.get("scale"),
        size=kwargs.get("size"),
        roi=kwargs.get("roi"),
    )
    return (size.height, size.width, *image.shape[2:])


def image_size(header: dict[str, Any]) -> tuple[int, int]:
    """(width, height) of a request header, for log lines."""
    return int(header.get("width", 0)), int(header.get("height", 0))


def _protocol_streams() -> tuple[IO[bytes], IO[bytes]]:
    """Private binary handles on stdin/stdout; fd 1 then points at stderr.

    Anything else that prints (a library, a C extension) would corrupt the frame stream, so
    only our private duplicate of the original stdout ever reaches the host.
    """
    sys.stdout.flush()
    out = open(os.dup(sys.stdout.fileno()), "wb")  # noqa: SIM115 - lives as long as the process
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    inp = open(os.dup(sys.stdin.fileno()), "rb")  # noqa: SIM115
    return inp, out


def main(argv: list[str] | None = None) -> int:
    """Entry point of `pocketsr worker`: speak the frame protocol on stdin/stdout."""
    del argv  # no options: everything arrives in the hello frame or the environment
    armed = set_parent_death_signal()
    if _parent_already_gone():
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
    inp, out = _protocol_streams()
    status = Worker(inp, out, log_path).serve()
    log.info("worker %s exiting with %d", os.getpid(), status)
    logging.shutdown()
    # Threads (the reader blocked on stdin, a timer) must not keep a finished worker alive.
    os._exit(status)


if __name__ == "__main__":
    sys.exit(main())
