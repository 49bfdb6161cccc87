"""The scripting API: `upscale(document, scale=2, ...)`, usable without the dialog.

From Krita's Scripter or a batch script::

    from pocketsr_upscale.api import upscale
    layer = upscale(Krita.instance().activeDocument(), scale=4)

Pixels are read at the document's own depth (8/16-bit integer, 16/32-bit float) and the
engine runs in its own process. Nothing in the document changes until the engine has
finished, so a cancel or a failure leaves it exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import runner
from .errors import Cancelled, UpscaleError
from .host import KritaHost, add_layer, krita_instance, new_document

__all__ = ["Cancelled", "UpscaleError", "preview", "upscale"]

SOURCES = ("layer", "image")
OUTPUTS = ("layer", "document")


def _options(
    wire: Any,
    scale: float | None,
    size: Any,
    model: str | None,
    tile: Any,
    device: str | None,
    controls: dict[str, Any],
) -> Any:
    """The engine options the caller asked for (a target size is the whole document's)."""
    try:
        return wire.UpscaleOptions(
            model=model or None,
            scale=None if size else scale,
            size=wire.Size(int(size[0]), int(size[1])) if size else None,
            size_of=wire.SIZE_OF_IMAGE,
            tile=wire.tile_from_host(tile),
            device=device or "auto",
            **controls,
        )
    except (wire.WireError, ValueError) as exc:
        raise UpscaleError(str(exc), code="invalid_option") from exc


def _run_engine(
    engine: Any,
    job: dict[str, Any],
    on_progress: Callable[[Any], None] | None,
    is_cancelled: Callable[[], bool] | None,
    show_progress: bool,
    title: str,
) -> Any:
    """Run the engine job off the GUI thread; returns the bridge's UpscaleResult."""
    state = runner.JobState()

    def progress(info: Any) -> None:
        state.update(info)
        if on_progress is not None:
            on_progress(info)

    def cancelled() -> bool:
        if is_cancelled is not None and is_cancelled():
            state.cancel()
        return state.is_cancelled()

    window = None
    if show_progress:
        from .progress import ProgressWindow

        window = ProgressWindow(state, title, _parent_window())
    from .qt_compat import process_events

    def wait() -> None:
        if window is not None:
            window.poll()
        process_events(20)

    try:
        return runner.run_in_thread(
            lambda: engine.upscale(**job, on_progress=progress, is_cancelled=cancelled), wait
        )
    finally:
        if window is not None:
            window.close()


def _parent_window() -> Any:
    """Krita's main window (QMainWindow), or None when headless."""
    try:
        window = krita_instance().activeWindow()
        return window.qwindow() if window is not None else None
    except Exception:
        return None


def _engine_failure(exc: Exception, bridge: Any, shared: bool) -> UpscaleError:
    """The UpscaleError for a failure of the engine (or of reaching it)."""
    if isinstance(exc, UpscaleError):
        return exc
    if not hasattr(exc, "code"):
        return UpscaleError(
            f"The PocketSR engine could not be used: {exc}", "engine", runner.log_tail(bridge)
        )
    error = _as_upscale_error(exc, bridge)
    if shared and error.code in ("config", "worker_start", "version_mismatch"):
        runner.reset_engine()  # the next try reads the (fixed) configuration again
    return error


def _as_upscale_error(exc: Exception, engine: Any) -> UpscaleError:
    """A bridge exception as an UpscaleError (Cancelled for a cancel) with the log's end."""
    code = getattr(exc, "code", "error")
    lines = runner.log_tail(engine)
    if code == "cancelled":
        return Cancelled("The upscale was cancelled; the image was not changed.", code, lines)
    return UpscaleError(str(exc), code, lines)


def _prepare(
    document: Any, source: str, use_selection: bool, option_args: tuple, engine: Any
) -> tuple[Any, KritaHost, Any]:
    """(the bridge module, the document's KritaHost, the engine options) for preview() and
    upscale(); option_args are _options()'s arguments after the wire module."""
    try:
        bridge_module = runner.load_bridge()
    except Exception as exc:
        raise _engine_failure(exc, None, engine is None) from exc
    host = KritaHost(document, source, use_selection, bridge_module.wire)
    return bridge_module, host, _options(bridge_module.wire, *option_args)


def preview(
    document: Any,
    scale: float | None = 2,
    *,
    size: tuple[int, int] | None = None,
    source: str = "layer",
    use_selection: bool = True,
    model: str | None = None,
    tile: int | str | None = "auto",
    device: str | None = "auto",
    strength: float | None = None,
    alpha_mode: str = "resample",
    seamless: bool = False,
    engine: Any = None,
    output: str = "layer",
) -> Any:
    """The dialog's preview (a pocketsr_link Preview): a 1:1 crop of the upscaled selection
    (or of the document's centre), before and after, as upscale() with these options would
    give it. The document is only read (output is accepted, like upscale's, and unused)."""
    controls = {"strength": strength, "alpha_mode": alpha_mode, "seamless": seamless}
    bridge_module, host, options = _prepare(
        document, source, use_selection, (scale, size, model, tile, device, controls), engine
    )
    wire = bridge_module.wire
    bridge = engine
    try:
        bridge = bridge or runner.engine()
        return bridge_module.render_preview(
            bridge, host.read, wire.Size(*host.size), host.channels, host.dtype, host.box, options
        )
    except Exception as exc:
        raise _engine_failure(exc, bridge, engine is None) from exc


def upscale(
    document: Any,
    scale: float | None = 2,
    *,
    size: tuple[int, int] | None = None,
    source: str = "layer",
    output: str = "layer",
    use_selection: bool = True,
    model: str | None = None,
    tile: int | str | None = "auto",
    device: str | None = "auto",
    strength: float | None = None,
    alpha_mode: str = "resample",
    seamless: bool = False,
    show_progress: bool | None = None,
    on_progress: Callable[[Any], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    engine: Any = None,
) -> Any:
    """Upscale a Krita document's active layer or visible image with PocketSR.

    scale: 2, 3, 4 (any factor from 1 to the model's, 4 for pocketsr-nano); or size=(w, h)
    for a target document size (0 on one side keeps the aspect ratio).
    source: "layer" (the active layer) or "image" (the visible image, all layers merged).
    output: "layer" scales the document (Krita's bicubic for existing layers) and adds the
    result as a new paint layer on top, returned; "document" returns a new document.
    With a selection (and use_selection), only its bounding box (plus context) is upscaled
    and the result's alpha is multiplied by the upscaled selection.
    model, tile ("auto" or a side in pixels), device ("auto", "cpu", "cuda", ...): engine options.
    strength: 0 (fidelity) to 1 (detail) for a model with a partner (ignored for others);
    alpha_mode: "resample" or "model" (alpha through the network); seamless: wrap around the
    borders (tileable textures; the whole layer is read).
    show_progress: a progress dialog with Cancel (default: when a Krita window is open).
    on_progress(info) is called on the job thread with done, total, elapsed, eta;
    is_cancelled() is polled there too. engine: a bridge to use (default: the shared one).
    Raises Cancelled or UpscaleError (with .log_lines); the document is then unchanged.
    """
    if source not in SOURCES or output not in OUTPUTS:
        raise ValueError(f"source must be one of {SOURCES} and output one of {OUTPUTS}.")
    if document is None:
        raise UpscaleError("There is no open document to upscale.", code="no_document")
    controls = {"strength": strength, "alpha_mode": alpha_mode, "seamless": seamless}
    bridge_module, host, options = _prepare(
        document, source, use_selection, (scale, size, model, tile, device, controls), engine
    )
    wire = bridge_module.wire
    bridge = engine
    try:
        bridge = bridge or runner.engine()
        # The engine says what to read (the box plus its model's context) and what it gives.
        job_plan = bridge.plan(*host.size, host.channels, host.box, options)
    except Exception as exc:
        raise _engine_failure(exc, bridge, engine is None) from exc

    read = job_plan.read
    mask = host.selection_mask()
    job = {
        "pixels": host.read(read),
        "width": read.width,
        "height": read.height,
        "channels": host.channels,
        "dtype": host.dtype,
        "roi": tuple(job_plan.roi) if host.box else None,
        "options": options._replace(
            scale=None,
            size=job_plan.output,
            size_of=wire.SIZE_OF_REGION,
            strength=strength if job_plan.model.has_strength else None,
        ),
    }
    if show_progress is None:
        show_progress = _parent_window() is not None
    try:
        result = _run_engine(
            bridge, job, on_progress, is_cancelled, show_progress, "PocketSR Upscale"
        )
    except Exception as exc:
        raise _engine_failure(exc, bridge, engine is None) from exc

    out = job_plan.placement
    if (result.width, result.height) != (out.width, out.height):
        raise UpscaleError(
            f"The engine returned {result.width}x{result.height} pixels where "
            f"{out.width}x{out.height} were expected.",
            code="engine",
        )
    layer_bytes = host.to_layer_bytes(result.data, out, mask)
    name = f"PocketSR {job_plan.factors[0]:.3g}× ({model or 'default'})"
    if output == "document":
        return new_document(document, layer_bytes, out, name)
    return add_layer(document, layer_bytes, job_plan, name)
