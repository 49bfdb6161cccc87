"""Runs the GIMP 2.10 entry under a real Python 2.7 against the MOCK gimpfu (fake_gimpfu/).

Usage: python2.7 gimpfu_driver.py SPEC.json. SPEC: plugin_dir (the installed plug-ins
folder), raw pixels, image/layer geometry, selection, args. One JSON line goes to stdout:
the recorded calls, the registration, and the image's layers (pixels written to files).
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    sys.path.insert(0, os.path.join(HERE, "fake_gimpfu"))
    import gimpfu

    entry = os.path.join(spec["plugin_dir"], "pocketsr_upscale_210.py")
    namespace = {"__file__": entry, "__name__": "__main__"}
    with open(entry) as f:
        code = compile(f.read(), entry, "exec")
    exec(code, namespace)
    reg = gimpfu.REGISTERED
    image = gimpfu.Image(spec["image_size"][0], spec["image_size"][1], gimpfu.RGB)
    layer = gimpfu.Layer(
        image,
        "src",
        spec["layer_size"][0],
        spec["layer_size"][1],
        spec["layer_type"],
        100,
        gimpfu.NORMAL_MODE,
    )
    layer.is_indexed = spec.get("indexed", False)
    layer.offsets = tuple(spec["offsets"])
    with open(spec["pixels"], "rb") as f:
        layer.data[:] = f.read()
    image.layers.append(layer)
    image.selection = tuple(spec["selection"]) if spec.get("selection") else None
    del gimpfu.CALLS[:]
    reg["function"](image, layer, *spec["args"])
    layers = []
    for i, item in enumerate(image.layers):
        path = os.path.join(spec["out"], "layer" + str(i) + ".raw")
        with open(path, "wb") as f:
            f.write(bytes(item.data))
        layers.append(
            {
                "name": item.name,
                "size": [item.width, item.height],
                "offsets": list(item.offsets),
                "pixels": path,
                "mask": bool(item.mask),
            }
        )
    params = [[p[0], p[1]] for p in reg["params"]]
    report = {
        "python": sys.version.split()[0],
        "calls": gimpfu.CALLS,
        "layers": layers,
        "size": [image.width, image.height],
        "name": reg["name"],
        "menu": reg["menu"],
        "label": reg["label"],
        "params": params,
    }
    sys.stdout.write(json.dumps(report, default=repr) + "\n")


main()
