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

from . import pixels, runner

SOURCES = ("layer", "image")
OUTPUTS = ("layer", "document")
SCALE_FILTER = "Bicubic"  # how Krita scales the existing layers in "layer" output


class UpscaleError(Exception):
    """The upscale could not be done; str() is the reason, log_lines the worker log's end."""

    def __init__(self, message: str, code: str = "error", log_lines: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.log_lines = list(log_lines or [])


class Cancelled(UpscaleError):
    """The user (or is_cancelled) stopped the job; the document is unchanged."""


def _krita() -> Any:
    """Krita.instance() (imported late so the module loads outside Krita for docs and tests)."""
    from krita import Krita

    return Krita.instance()


def _source_node(document: Any) -> Any:
    """The active layer, or the top layer when Krita reports none (5.2 right after opening)."""
    node = document.activeNode()
    if node is None:
        nodes = [n for n in document.topLevelNodes() if n.type().endswith("layer")]
        node = nodes[-1] if nodes else None
    if node is None:
        raise UpscaleError("The document has no layer to upscale.", code="no_layer")
    if not node.type().endswith("layer"):
        raise UpscaleError(
            f"The active node '{node.name()}' is a {node.type()}, not a layer: select a layer, "
            "or upscale the visible image.",
            code="not_a_layer",
        )
    if (node.colorModel(), node.colorDepth()) != (document.colorModel(), document.colorDepth()):
        raise UpscaleError(
            f"The layer '{node.name()}' is {node.colorModel()}/{node.colorDepth()} but the image "
            f"is {document.colorModel()}/{document.colorDepth()}: convert the layer to the "
            "image's colour space first (Layer → Convert → Convert Layer Color Space…).",
            code="layer_colour_space",
        )
    return node


def _selection_box(document: Any, wire: Any) -> tuple[Any, Any]:
    """The selection's bounding box inside the image (a wire Rect) and the Selection.

    (None, None) without a selection.
    """
    selection = document.selection()
    if selection is None or selection.width() <= 0 or selection.height() <= 0:
        return None, None
    box = wire.Rect(selection.x(), selection.y(), selection.width(), selection.height())
    inside = box.intersect(wire.Rect(0, 0, document.width(), document.height()))
    if inside.is_empty:
        raise UpscaleError(
            "The selection lies outside the image: nothing to upscale.", code="geometry"
        )
    return inside, selection


def _options(
    wire: Any, scale: float | None, size: Any, model: str | None, tile: Any, device: str | None
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
        window = _krita().activeWindow()
        return window.qwindow() if window is not None else None
    except Exception:
        return None


def _engine_failure(exc: Exception, bridge: Any, shared: bool) -> UpscaleError:
    """The UpscaleError for a failure of the engine (or of reaching it)."""
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
    show_progress: a progress dialog with Cancel (default: when a Krita window is open).
    on_progress(info) is called on the job thread with done, total, elapsed, eta;
    is_cancelled() is polled there too. engine: a bridge to use (default: the shared one).
    Raises Cancelled or UpscaleError (with .log_lines); the document is then unchanged.
    """
    if source not in SOURCES or output not in OUTPUTS:
        raise ValueError(f"source must be one of {SOURCES} and output one of {OUTPUTS}.")
    if document is None:
        raise UpscaleError("There is no open document to upscale.", code="no_document")
    colour_model, depth = document.colorModel(), document.colorDepth()
    try:
        channels, dtype = pixels.check_format(colour_model, depth)
    except pixels.UnsupportedPixels as exc:
        raise UpscaleError(str(exc), code="unsupported_colour") from exc
    target = _source_node(document) if source == "layer" else document
    bridge = engine if engine is not None else None
    try:
        bridge = bridge or runner.engine()
        wire = runner.load_bridge().wire
        box, selection = _selection_box(document, wire) if use_selection else (None, None)
        options = _options(wire, scale, size, model, tile, device)
        # The engine says what to read (the box plus its model's context) and what it gives.
        job_plan = bridge.plan(document.width(), document.height(), channels, box, options)
    except UpscaleError:
        raise
    except Exception as exc:
        raise _engine_failure(exc, bridge, engine is None) from exc

    document.waitForDone()
    read = job_plan.read
    data = pixels.to_engine(
        bytes(target.pixelData(read.x, read.y, read.width, read.height)), colour_model, depth
    )
    mask = bytes(selection.pixelData(box.x, box.y, box.width, box.height)) if box else None
    job = {
        "pixels": data,
        "width": read.width,
        "height": read.height,
        "channels": channels,
        "dtype": dtype,
        "roi": tuple(job_plan.roi) if box else None,
        "options": options._replace(scale=None, size=job_plan.output, size_of=wire.SIZE_OF_REGION),
    }
    if show_progress is None:
        show_progress = _parent_window() is not None
    try:
        result = _run_engine(
            bridge, job, on_progress, is_cancelled, show_progress, "PocketSR Upscale"
        )
    except UpscaleError:
        raise
    except Exception as exc:
        raise _engine_failure(exc, bridge, engine is None) from exc

    out = job_plan.placement
    if (result.width, result.height) != (out.width, out.height):
        raise UpscaleError(
            f"The engine returned {result.width}x{result.height} pixels where "
            f"{out.width}x{out.height} were expected.",
            code="engine",
        )
    layer_bytes = pixels.from_engine(result.data, colour_model, depth)
    if mask is not None:
        scaled = pixels.scale_mask(mask, box.width, box.height, out.width, out.height)
        layer_bytes = pixels.apply_mask(layer_bytes, scaled, colour_model, depth)
    name = f"PocketSR {job_plan.factors[0]:.3g}× ({model or 'default'})"
    if output == "document":
        return _new_document(document, layer_bytes, out, name)
    return _add_layer(document, layer_bytes, job_plan, name)


def _add_layer(document: Any, data: bytes, job_plan: Any, name: str) -> Any:
    """Scale the document to the plan's size and add data as a new top layer; all or nothing."""
    width, height = document.width(), document.height()
    xres, yres = document.xRes(), document.yRes()
    out_w, out_h = job_plan.image_output
    out = job_plan.placement
    scaled = layer = None
    try:
        if (out_w, out_h) != (width, height):
            document.scaleImage(out_w, out_h, int(xres), int(yres), SCALE_FILTER)
            document.waitForDone()
            scaled = True
        layer = document.createNode(name, "paintlayer")
        layer.setPixelData(data, out.x, out.y, out.width, out.height)
        root = document.rootNode()
        top = root.childNodes()
        root.addChildNode(layer, top[-1] if top else None)
        document.waitForDone()
        document.setActiveNode(layer)
        document.refreshProjection()
        return layer
    except Exception as exc:
        if layer is not None and layer.parentNode() is not None:
            layer.remove()
        if scaled:
            document.scaleImage(width, height, int(xres), int(yres), SCALE_FILTER)
            document.waitForDone()
        raise UpscaleError(f"Krita refused the result: {exc}", code="krita") from exc


def _new_document(document: Any, data: bytes, out: Any, name: str) -> Any:
    """A new document holding data as its one layer, shown when a Krita window is open."""
    krita = _krita()
    new = krita.createDocument(
        out.width,
        out.height,
        f"{document.name() or 'Untitled'} (PocketSR)",
        document.colorModel(),
        document.colorDepth(),
        document.colorProfile(),
        document.resolution(),
    )
    try:
        layer = new.createNode(name, "paintlayer")
        layer.setPixelData(data, 0, 0, out.width, out.height)
        root = new.rootNode()
        old = root.childNodes()
        root.addChildNode(layer, old[-1] if old else None)
        for node in old:
            node.remove()
        new.waitForDone()
        new.setActiveNode(layer)
        new.refreshProjection()
    except Exception as exc:
        new.close()
        raise UpscaleError(f"Krita refused the result: {exc}", code="krita") from exc
    window = krita.activeWindow()
    if window is not None:
        window.addView(new)
    return new
