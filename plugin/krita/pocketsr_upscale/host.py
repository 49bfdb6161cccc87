"""Krita's side of a job, like GIMP's host shim: the pixels, the selection, the result.

Everything that touches a Krita document is here; api.upscale asks the engine for a plan
and moves bytes between this and the bridge, as the GIMP adapter does over its Host.
"""

from __future__ import annotations

from typing import Any

from . import pixels
from .errors import UpscaleError

SCALE_FILTER = "Bicubic"  # how Krita scales the existing layers in "layer" output


class KritaHost:
    """One document's source (its active layer or the visible image) and its selection."""

    def __init__(self, document: Any, source: str, use_selection: bool, wire: Any) -> None:
        self.document = document
        self.colour_model, self.depth = document.colorModel(), document.colorDepth()
        try:
            self.channels, self.dtype = pixels.check_format(self.colour_model, self.depth)
        except pixels.UnsupportedPixels as exc:
            raise UpscaleError(str(exc), code="unsupported_colour") from exc
        self.target = _source_node(document) if source == "layer" else document
        self.box, self._selection = (
            _selection_box(document, wire) if use_selection else (None, None)
        )

    @property
    def size(self) -> tuple[int, int]:
        """The document's width and height."""
        return self.document.width(), self.document.height()

    def read(self, rect: Any) -> bytes:
        """The source's pixels of rect, in the engine's channel order."""
        self.document.waitForDone()
        data = bytes(self.target.pixelData(rect.x, rect.y, rect.width, rect.height))
        return pixels.to_engine(data, self.colour_model, self.depth)

    def selection_mask(self) -> bytes | None:
        """The selection's bytes over its box (read before the document changes), or None."""
        box = self.box
        if box is None:
            return None
        return bytes(self._selection.pixelData(box.x, box.y, box.width, box.height))

    def to_layer_bytes(self, data: bytes, out: Any, mask: bytes | None) -> bytes:
        """The engine's result in Krita's channel order, its alpha times the scaled mask."""
        layer_bytes = pixels.from_engine(data, self.colour_model, self.depth)
        if mask is not None:
            box = self.box
            scaled = pixels.scale_mask(mask, box.width, box.height, out.width, out.height)
            layer_bytes = pixels.apply_mask(layer_bytes, scaled, self.colour_model, self.depth)
        return layer_bytes


def krita_instance() -> Any:
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


def add_layer(document: Any, data: bytes, job_plan: Any, name: str) -> Any:
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


def new_document(document: Any, data: bytes, out: Any, name: str) -> Any:
    """A new document holding data as its one layer, shown when a Krita window is open."""
    krita = krita_instance()
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
