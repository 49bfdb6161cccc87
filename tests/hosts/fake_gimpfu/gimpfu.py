"""A stand-in for GIMP 2.10's `gimpfu`, for tests only: THIS IS A MOCK, NOT GIMP.

No GIMP 2.10 with Python exists on Debian, so the gimpfu entry and shim are run under a real
Python 2.7 against this module. It holds exactly the API surface pocketsr_gimp.gimpfu2 and
pocketsr_upscale_210.py use, keeps images as flat 8-bit byte arrays, and records every call
in CALLS so the test can check what the plug-in asked GIMP to do. Python 2.7 and 3.
"""

PF_IMAGE, PF_DRAWABLE, PF_SPINNER, PF_STRING, PF_OPTION, PF_SLIDER, PF_TOGGLE = range(7)
RGB, GRAY = 0, 1
RGB_IMAGE, RGBA_IMAGE, GRAY_IMAGE, GRAYA_IMAGE = 0, 1, 2, 3
NORMAL_MODE = 28
ADD_SELECTION_MASK = 4
_BPP = {RGB_IMAGE: 3, RGBA_IMAGE: 4, GRAY_IMAGE: 1, GRAYA_IMAGE: 2}

CALLS = []
REGISTERED = {}


def _log(*call):
    CALLS.append(list(call))


def register(
    name,
    blurb,
    help_text,
    author,
    copyright_,
    date,
    label,
    imagetypes,
    params,
    results,
    function,
    menu=None,
):
    REGISTERED.update(
        name=name, label=label, imagetypes=imagetypes, params=params, function=function, menu=menu
    )


def main():
    _log("main")


class _Region:
    """A pixel region over a drawable's bytes; [x0:x1, y0:y1] slices read and write."""

    def __init__(self, drawable, x, y, w, h, dirty, shadow):
        self.d, self.rect, self.shadow = drawable, (x, y, w, h), shadow

    def _rows(self, key):
        xs, ys = key
        bpp = self.d.bpp
        for row in range(ys.start, ys.stop):
            start = (row * self.d.width + xs.start) * bpp
            yield start, start + (xs.stop - xs.start) * bpp

    def __getitem__(self, key):
        return b"".join(bytes(self.d.data[a:b]) for a, b in self._rows(key))

    def __setitem__(self, key, value):
        target = self.d.shadow_data if self.shadow else self.d.data
        pos = 0
        for a, b in self._rows(key):
            target[a:b] = value[pos : pos + b - a]
            pos += b - a


class Layer:
    """A layer: size, offsets, type, 8-bit data, an optional mask."""

    def __init__(self, image, name, width, height, type_, opacity, mode):
        _log("Layer", name, width, height, type_)
        self.image, self.name, self.width, self.height = image, name, width, height
        self.type, self.offsets, self.parent, self.mask = type_, (0, 0), None, None
        self.bpp = _BPP[type_]
        self.has_alpha = type_ in (RGBA_IMAGE, GRAYA_IMAGE)
        self.is_gray = type_ in (GRAY_IMAGE, GRAYA_IMAGE)
        self.is_indexed = False
        self.data = bytearray(width * height * self.bpp)
        self.shadow_data = bytearray(len(self.data))

    def get_pixel_rgn(self, x, y, w, h, dirty, shadow):
        _log("get_pixel_rgn", self.name, x, y, w, h, dirty, shadow)
        return _Region(self, x, y, w, h, dirty, shadow)

    def flush(self):
        _log("flush", self.name)

    def merge_shadow(self, undo):
        _log("merge_shadow", self.name)  # the real one blends through the selection
        self.data[:] = self.shadow_data

    def update(self, x, y, w, h):
        _log("update", self.name, x, y, w, h)

    def set_offsets(self, x, y):
        _log("set_offsets", self.name, x, y)
        self.offsets = (x, y)

    def create_mask(self, kind):
        _log("create_mask", self.name, kind)
        return ("mask", kind)

    def add_mask(self, mask):
        _log("add_mask", self.name)
        self.mask = mask


class Image:
    """An image: size, base type, layers (top first)."""

    def __init__(self, width, height, base):
        _log("Image", width, height, base)
        self.width, self.height, self.base, self.layers = width, height, base, []
        self.selection = None  # (x, y, w, h) in image pixels, or None

    def disable_undo(self):
        _log("disable_undo")

    def enable_undo(self):
        _log("enable_undo")


class _Gimp:
    Layer, Image = Layer, Image

    def progress_init(self, text):
        _log("progress_init", text)

    def progress_update(self, fraction):
        _log("progress_update", round(fraction, 3))

    def message(self, text):
        _log("message", text)

    def Display(self, image):
        _log("Display")


class _Pdb:
    def gimp_selection_bounds(self, image):
        s = image.selection
        return (1, s[0], s[1], s[0] + s[2], s[1] + s[3]) if s else (0, 0, 0, 0, 0)

    def gimp_drawable_mask_intersect(self, d):
        s, (ox, oy) = d.image.selection, d.offsets
        if not s:
            return (1, 0, 0, d.width, d.height)
        x0, y0 = max(0, s[0] - ox), max(0, s[1] - oy)
        x1, y1 = min(d.width, s[0] + s[2] - ox), min(d.height, s[1] + s[3] - oy)
        return (int(x1 > x0 and y1 > y0), x0, y0, x1 - x0, y1 - y0)

    def gimp_image_undo_group_start(self, image):
        _log("undo_group_start")

    def gimp_image_undo_group_end(self, image):
        _log("undo_group_end")

    def gimp_image_scale(self, image, width, height):
        _log("gimp_image_scale", width, height)
        fx, fy = width // image.width, height // image.height
        image.width, image.height = width, height
        for layer in image.layers:  # nearest neighbour: enough to check placement
            old, w, h, bpp = layer.data, layer.width, layer.height, layer.bpp
            layer.width, layer.height = w * fx, h * fy
            layer.offsets = (layer.offsets[0] * fx, layer.offsets[1] * fy)
            layer.data = bytearray(layer.width * layer.height * bpp)
            for y in range(layer.height):
                for x in range(layer.width):
                    src = ((y // fy) * w + x // fx) * bpp
                    dst = (y * layer.width + x) * bpp
                    layer.data[dst : dst + bpp] = old[src : src + bpp]
            layer.shadow_data = bytearray(len(layer.data))
        if image.selection:
            s = image.selection
            image.selection = (s[0] * fx, s[1] * fy, s[2] * fx, s[3] * fy)

    def gimp_image_get_item_position(self, image, item):
        return image.layers.index(item)

    def gimp_image_insert_layer(self, image, layer, parent, position):
        _log("insert_layer", layer.name, position)
        layer.image = image
        image.layers.insert(position, layer)

    def gimp_item_delete(self, item):
        _log("item_delete", item.name)


gimp = _Gimp()
pdb = _Pdb()
