"""Run inside GIMP 3's python-fu-eval: builds test images, calls the plug-in, dumps results.

Started by test_gimp3.py as
    gimp-console-3.0 -i --batch-interpreter=python-fu-eval -b "exec(open(THIS).read())" --quit
with POCKETSR_GIMP_SPEC naming a JSON spec: {"out": DIR, "cases": [...]}. For each case it
makes an image from raw pixels (given precision, alpha, layer offset, optional feathered
selection), calls python-fu-pocketsr-upscale non-interactively, saves the image as XCF and
dumps every layer's pixels (and masks) as raw files plus one report.json for pytest.
"""

import json
import os
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio  # noqa: E402

PROC = "python-fu-pocketsr-upscale"
PRECISION = {
    "u8": Gimp.Precision.U8_NON_LINEAR,
    "u16": Gimp.Precision.U16_NON_LINEAR,
    "float": Gimp.Precision.FLOAT_NON_LINEAR,
}


def babl_format(case):
    """The babl format of the case's pixels."""
    if case["base"] == "gray":
        model = "Y'A" if case["alpha"] else "Y'"
    else:
        model = "R'G'B'A" if case["alpha"] else "R'G'B'"
    return "{} {}".format(model, case["precision"])


def layer_type(case):
    """The Gimp.ImageType of the case's layer."""
    gray = case["base"] == "gray"
    if case["alpha"]:
        return Gimp.ImageType.GRAYA_IMAGE if gray else Gimp.ImageType.RGBA_IMAGE
    return Gimp.ImageType.GRAY_IMAGE if gray else Gimp.ImageType.RGB_IMAGE


def read(drawable, fmt):
    """All of a drawable's pixels in fmt."""
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    return bytes(drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.CLAMP))


def make_image(case):
    """An image holding the case's pixels in one layer (and its selection)."""
    base = Gimp.ImageBaseType.GRAY if case["base"] == "gray" else Gimp.ImageBaseType.RGB
    w, h = case["image_size"]
    image = Gimp.Image.new_with_precision(w, h, base, PRECISION[case["precision"]])
    lw, lh = case["layer_size"]
    layer = Gimp.Layer.new(image, "src", lw, lh, layer_type(case), 100.0, Gimp.LayerMode.NORMAL)
    image.insert_layer(layer, None, 0)
    layer.set_offsets(*case["offsets"])
    with open(case["pixels"], "rb") as f:
        data = f.read()
    buf = layer.get_buffer()
    buf.set(Gegl.Rectangle.new(0, 0, lw, lh), babl_format(case), data)
    buf.flush()
    sel = case.get("selection")
    if sel:
        image.select_ellipse(Gimp.ChannelOps.REPLACE, *sel["rect"])
        if sel.get("feather"):
            Gimp.Selection.feather(image, sel["feather"])
    return image, layer


def dump(image, case, out, tag):
    """Raw pixels of every layer (and mask) of image, and the image's layout, as a dict."""
    fmt = babl_format(dict(case, alpha=True))
    layers = []
    for i, layer in enumerate(image.get_layers()):
        path = os.path.join(out, "{}-{}-layer{}.raw".format(case["name"], tag, i))
        with open(path, "wb") as f:
            f.write(read(layer, fmt))
        _, x, y = layer.get_offsets()
        entry = {
            "name": layer.get_name(),
            "offsets": [x, y],
            "size": [layer.get_width(), layer.get_height()],
            "pixels": path,
            "format": fmt,
        }
        mask = layer.get_mask()
        if mask is not None:
            entry["mask"] = path[:-4] + "-mask.raw"
            with open(entry["mask"], "wb") as f:
                f.write(read(mask, "Y float"))
        layers.append(entry)
    sel_path = os.path.join(out, "{}-{}-selection.raw".format(case["name"], tag))
    with open(sel_path, "wb") as f:
        f.write(read(image.get_selection(), "Y float"))
    return {
        "size": [image.get_width(), image.get_height()],
        "layers": layers,
        "selection": sel_path,
        "precision": image.get_precision().value_nick,
    }


def run_case(pdb, case, out):
    """One case: make, dump before, call the procedure, dump after, save XCF."""
    image, layer = make_image(case)
    report = {"name": case["name"], "before": dump(image, case, out, "before")}
    if case.get("config_text") is not None:
        with open(os.environ["POCKETSR_CONFIG"], "w") as f:
            f.write(case["config_text"])
    images_before = len(Gimp.get_images())
    proc = pdb.lookup_procedure(PROC)
    config = proc.create_config()
    interactive = case.get("run_mode") == "interactive"
    mode = Gimp.RunMode.INTERACTIVE if interactive else Gimp.RunMode.NONINTERACTIVE
    config.set_property("run-mode", mode)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    for key, value in case.get("args", {}).items():
        config.set_property(key, value)
    marker = case.get("marker")
    if marker:
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
    start = time.time()
    result = proc.run(config)
    report["seconds"] = time.time() - start
    report["status"] = result.index(0).value_name
    report["after"] = dump(image, case, out, "after")
    new_images = [im for im in Gimp.get_images() if im.get_id() != image.get_id()]
    if len(Gimp.get_images()) > images_before and new_images:
        report["new_image"] = dump(new_images[0], case, out, "newimage")
        new_images[0].delete()
    xcf = os.path.join(out, case["name"] + ".xcf")
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(xcf), None)
    report["xcf"] = xcf
    image.delete()
    return report


def registration(pdb):
    """What GIMP knows of the procedure: menu, label, argument names."""
    proc = pdb.lookup_procedure(PROC)
    if proc is None:
        return None
    return {
        "menu_paths": list(proc.get_menu_paths()),
        "menu_label": proc.get_menu_label(),
        "arguments": [spec.name for spec in proc.get_arguments()],
        "blurb": proc.get_blurb(),
        "image_types": proc.get_image_types(),
    }


def main():
    with open(os.environ["POCKETSR_GIMP_SPEC"]) as f:
        spec = json.load(f)
    pdb = Gimp.get_pdb()
    report = {"registration": registration(pdb), "cases": []}
    for case in spec["cases"]:
        try:
            report["cases"].append(run_case(pdb, case, spec["out"]))
        except Exception:
            report["cases"].append({"name": case["name"], "error": traceback.format_exc()})
    with open(os.path.join(spec["out"], "report.json"), "w") as f:
        json.dump(report, f, indent=1)


main()
