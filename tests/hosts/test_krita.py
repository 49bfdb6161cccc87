"""The Krita plug-in in real Krita: 5.1.5 (Debian 12, on this machine) and 5.2.9 (trixie chroot).

The plug-in is installed into a throwaway HOME/XDG tree by the project's installer
(`pocketsr install`), enabled in kritarc by it, and driven through
its own `api.upscale` by tests/hosts/krita_driver.py under `kritarunner` (offscreen). One
Krita run per host does every case; the tests then compare what Krita holds with the
engine's result on the same pixels, computed here in-process.

Tolerance: integer depths must match the engine exactly (measured: 0), floats within
1e-3 (F16) and 1e-6 (F32) absolute (measured: 0), apart from the mask multiplication's
rounding of alpha (≤ 1 LSB / 1e-3).

Pixel layout facts used independently of the plug-in (../shared/notes/HOSTS.md): U8 and U16
RGBA are B,G,R,A in memory; F16 and F32 are R,G,B,A; GRAYA is gray, alpha.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostutil import run_installer

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugin"
KRITA_SRC = PLUGIN / "krita" / "pocketsr_upscale"
CHROOT = ROOT / "tests" / "tools" / "host_chroot.sh"
DRIVER_DIR = Path(__file__).resolve().parent
ENGINE_PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(ENGINE_PYTHON).exists():
    ENGINE_PYTHON = sys.executable

DTYPES = {"U8": np.uint8, "U16": np.uint16, "F16": np.float16, "F32": np.float32}
TOLERANCE = {"U8": 0, "U16": 0, "F16": 1e-3, "F32": 1e-6}
ALPHA_TOLERANCE = {"U8": 1, "U16": 1, "F16": 1e-3, "F32": 1e-6}
WIDTH, HEIGHT = 200, 90


def _load(name: str) -> Any:
    """A plug-in module that needs neither Krita nor Qt, loaded from the source tree."""
    spec = importlib.util.spec_from_file_location(f"_krita_{name}", KRITA_SRC / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pixels = _load("pixels")


def _engine_plan(width: int, height: int, box: Any, scale: Any, size: Any) -> Any:
    """The engine's plan for the plug-in's request (what api.upscale asks the engine for)."""
    from pocketsr.engine import Upscaler
    from pocketsr.engine.plan import plan_read
    from pocketsr.engine.types import Rect, Size
    from pocketsr.plugin.pocketsr_link.wire import SIZE_OF_IMAGE, UpscaleOptions

    options = UpscaleOptions(
        scale=None if size else scale, size=Size(*size) if size else None, size_of=SIZE_OF_IMAGE
    )
    roi = Rect(*box) if box else None
    return plan_read(Upscaler().info, Size(width, height), roi, options, channels=4)


# --- the plug-in's pure parts (no Krita needed) -------------------------------------------
@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_byte_order_round_trip(depth: str) -> None:
    """U8/U16 swap red and blue both ways; floats pass through; the round trip is exact."""
    rgba = _image(16, 8, depth, seed=3)
    krita = _to_krita(rgba, "RGBA")
    engine = pixels.to_engine(krita.tobytes(), "RGBA", depth)
    assert engine == rgba.tobytes()
    assert pixels.from_engine(engine, "RGBA", depth) == krita.tobytes()


def test_unsupported_models_are_refused_with_advice() -> None:
    """CMYK and Lab are refused with a sentence telling how to convert."""
    for model in ("CMYKA", "LABA", "XYZA"):
        with pytest.raises(pixels.UnsupportedPixels, match="Convert Image Color Space"):
            pixels.check_format(model, "U8")
    assert pixels.check_format("GRAYA", "F16") == (2, "float16")


@pytest.mark.parametrize("depth", ["U8", "U16", "F16", "F32"])
def test_apply_mask_scales_alpha_only(depth: str) -> None:
    """The mask multiplies alpha (rounded), colour stays, 255 keeps the pixels unchanged."""
    rgba = _image(12, 5, depth, seed=4)
    mask = np.random.default_rng(1).integers(0, 256, (5, 12), dtype=np.uint8)
    mask[0] = 255
    got = np.frombuffer(
        pixels.apply_mask(rgba.tobytes(), mask.tobytes(), "RGBA", depth), dtype=rgba.dtype
    ).reshape(rgba.shape)
    assert np.array_equal(got[..., :3], rgba[..., :3])
    want = _masked_alpha(rgba[..., 3], mask, depth)
    assert _max_diff(got[..., 3], want) <= ALPHA_TOLERANCE[depth]
    assert np.array_equal(got[0], rgba[0])
    full = np.full(mask.shape, 255, np.uint8).tobytes()
    assert pixels.apply_mask(rgba.tobytes(), full, "RGBA", depth) == rgba.tobytes()


def test_scale_mask_nearest() -> None:
    """Integer factors repeat each pixel; any size maps pixel centres."""
    mask = np.arange(12, dtype=np.uint8).reshape(3, 4)
    got = pixels.scale_mask(mask.tobytes(), 4, 3, 8, 6)
    assert np.array_equal(np.frombuffer(got, np.uint8).reshape(6, 8), _nearest(mask, 8, 6))
    got = pixels.scale_mask(mask.tobytes(), 4, 3, 10, 7)
    assert np.array_equal(np.frombuffer(got, np.uint8).reshape(7, 10), _nearest(mask, 10, 7))


def test_plan_with_and_without_selection() -> None:
    """Whole image; a selection box with the model's context clipped to the image; sizes.

    The plug-in computes none of this any more: it is the engine's plan (engine/plan.py).
    """
    p = _engine_plan(200, 90, None, 2, None)
    assert p.read == (0, 0, 200, 90) and p.image_output == (400, 180)
    assert p.placement == (0, 0, 400, 180)
    p = _engine_plan(200, 90, (100, 10, 30, 20), 3, None)
    c = p.context
    assert c >= p.model.overlap and p.read == (100 - c, 0, 30 + 2 * c, 10 + 20 + c)
    assert p.roi == (c, 10, 30, 20)
    assert p.image_output == (600, 270) and p.placement == (300, 30, 90, 60)
    assert _engine_plan(200, 90, None, None, (300, 0)).image_output == (300, 135)


# --- helpers -------------------------------------------------------------------------------
def _image(width: int, height: int, depth: str, seed: int = 0, channels: int = 4) -> np.ndarray:
    """A smooth test picture with texture and a varying alpha, in the engine's channel order."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = [0.5 + 0.4 * np.sin(x / 7.0 + k) * np.cos(y / 5.0 - k) for k in range(3)]
    noise = rng.random((height, width, 3), dtype=np.float32) * 0.1
    rgb = np.clip(np.stack(base, axis=-1) + noise, 0, 1)
    alpha = np.clip(0.4 + 0.6 * (x / max(1, width - 1)), 0, 1)[..., None]
    planes = rgb.mean(axis=-1, keepdims=True) if channels == 2 else rgb
    unit = np.concatenate([planes, alpha], axis=-1)
    dtype = DTYPES[depth]
    if depth in ("U8", "U16"):
        top = np.iinfo(dtype).max
        return np.round(unit * top).astype(dtype)
    return unit.astype(dtype)


def _to_krita(image: np.ndarray, model: str) -> np.ndarray:
    """Engine order -> Krita's memory order (U8/U16 RGBA are blue first)."""
    if model == "RGBA" and image.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(image[..., [2, 1, 0, 3]])
    return np.ascontiguousarray(image)


def _from_krita(image: np.ndarray, model: str) -> np.ndarray:
    """Krita's memory order -> engine order (the swap is its own inverse)."""
    return _to_krita(image, model)


def _nearest(mask: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Nearest-neighbour resize by pixel centres."""
    h, w = mask.shape
    xs = np.minimum(w - 1, (2 * np.arange(out_w) + 1) * w // (2 * out_w))
    ys = np.minimum(h - 1, (2 * np.arange(out_h) + 1) * h // (2 * out_h))
    return mask[ys][:, xs]


def _masked_alpha(alpha: np.ndarray, mask: np.ndarray, depth: str) -> np.ndarray:
    """alpha times mask/255 as the plug-in rounds it."""
    if depth in ("U8", "U16"):
        return ((alpha.astype(np.int64) * mask + 127) // 255).astype(alpha.dtype)
    return (alpha.astype(np.float64) * (mask / 255.0)).astype(alpha.dtype)


def _max_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest absolute difference."""
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


def _selection_mask(width: int, height: int) -> np.ndarray:
    """An ellipse with a soft (partially selected) rim, away from the image edges."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    d = ((x - 120) / 22.0) ** 2 + ((y - 45) / 18.0) ** 2
    return np.clip((1.15 - d) / 0.3 * 255, 0, 255).astype(np.uint8)


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The bounding box of the mask's non-zero pixels."""
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


# --- installing into a throwaway profile ------------------------------------------------
def install_profile(home: Path) -> dict[str, str]:
    """Install and enable the plug-in under home; return the environment for Krita."""
    data, config = home / ".local" / "share", home / ".config"
    (data / "krita").mkdir(parents=True, exist_ok=True)
    # The project's installer copies the plug-in and enables it in kritarc.
    copier = run_installer(
        home,
        "--host",
        "krita",
        "--data-dir",
        str(data / "krita"),
        "--kritarc",
        str(config / "kritarc"),
    )
    (home / "logs").mkdir(exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_DATA_HOME": str(data),
        "XDG_CONFIG_HOME": str(config),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(home / "run"),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": str(DRIVER_DIR),
        "POCKETSR_PYTHON": ENGINE_PYTHON,
        "POCKETSR_LOG_DIR": str(home / "logs"),
        "POCKETSR_TEST_COPIER": copier,
        "LANG": "C.UTF-8",
    }


# --- the cases and one Krita run per host -------------------------------------------------
def _cases(folder: Path) -> list[dict]:
    """Write every case's input pixels into folder; return the spec's case list."""
    cases = []
    mask = _selection_mask(WIDTH, HEIGHT)
    (folder / "selection.raw").write_bytes(mask.tobytes())
    sel = {"file": "selection.raw"}

    def add(
        name: str,
        depth: str,
        model: str = "RGBA",
        dims=(WIDTH, HEIGHT),
        selection=None,
        kind: str = "upscale",
        **kwargs: Any,
    ) -> None:
        channels = {"GRAYA": 2, "CMYKA": 5}.get(model, 4)
        image = _image(dims[0], dims[1], depth, seed=len(cases), channels=min(channels, 4))
        if channels == 5:
            image = np.concatenate([image, image[..., :1]], axis=-1)
        np.save(folder / f"{name}-in.npy", image)
        (folder / f"{name}-in.raw").write_bytes(_to_krita(image, model).tobytes())
        cases.append(
            {
                "name": name,
                "depth": depth,
                "model": model,
                "width": dims[0],
                "height": dims[1],
                "pixels": f"{name}-in.raw",
                "selection": selection,
                "kind": kind,
                "kwargs": kwargs,
            }
        )

    for depth in ("U8", "U16", "F16", "F32"):
        add(f"{depth.lower()}-whole", depth, scale=2)
        add(f"{depth.lower()}-selection", depth, selection=sel, scale=2)
    add("u8-image-to-document", "U8", selection=sel, scale=3, source="image", output="document")
    add("u16-target-size", "U16", scale=None, size=[300, 0])
    add("gray-u16", "U16", model="GRAYA", scale=2)
    add("cmyk-refused", "U8", model="CMYKA", kind="unsupported", scale=2)
    add("cancel", "U8", dims=(160, 160), kind="cancel", scale=2, tile=32)
    add("missing-python", "U8", dims=(32, 24), kind="missing_python", scale=2)
    # A model reaching 100 LR pixels (receptive field 201) and a hard-edged selection box.
    wide_model = _onnx_models().make_wide_context_model(folder / "wide-x2.onnx")
    wide_mask = np.zeros(WIDE_DIMS[::-1], np.uint8)
    bx, by, bw, bh = WIDE_BOX
    wide_mask[by : by + bh, bx : bx + bw] = 255
    (folder / "wide-selection.raw").write_bytes(wide_mask.tobytes())
    wide_sel = {"file": "wide-selection.raw"}
    for name, sizing in WIDE_CASES.items():
        add(name, "F32", dims=WIDE_DIMS, selection=wide_sel, **sizing)
        cases[-1]["kwargs"]["model"] = str(wide_model)
    return cases


WIDE_DIMS = (300, 260)
WIDE_BOX = (120, 100, 60, 50)
# x2, and a target document width (x1.5).
WIDE_CASES = {"wide-x2": {"scale": 2}, "wide-target": {"scale": None, "size": [450, 0]}}


def _onnx_models() -> Any:
    """The test model builders (tests/engine/onnx_models.py)."""
    path = Path(__file__).resolve().parents[1] / "engine" / "onnx_models.py"
    spec = importlib.util.spec_from_file_location("_krita_test_onnx_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_krita(command: list[str], env: dict[str, str], folder: Path, timeout: int) -> dict:
    """Run kritarunner; return results.json (with the log attached)."""
    start = time.monotonic()
    proc = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    log = proc.stdout + proc.stderr
    (folder / "krita.log").write_text(log, encoding="utf-8")
    results_file = folder / "results.json"
    if not results_file.exists():
        lines = [ln for ln in log.splitlines() if "krita.lib.resources" not in ln]
        pytest.fail(f"Krita wrote no results (exit {proc.returncode}):\n" + "\n".join(lines[-60:]))
    results = json.loads(results_file.read_text(encoding="utf-8"))
    results["seconds"] = round(time.monotonic() - start, 1)
    results["folder"] = str(folder)
    results["copier"] = env["POCKETSR_TEST_COPIER"]
    return results


def _host_debian12(folder: Path, env: dict[str, str]) -> dict:
    """Debian 12's own Krita 5.1.5, run directly."""
    runner = shutil.which("kritarunner")
    if runner is None:
        pytest.skip(
            "kritarunner is not installed: apt-get install -y --no-install-recommends "
            "krita python3-pyqt5"
        )
    spec = folder / "spec.json"
    full = {**{k: v for k, v in os.environ.items() if k in ("PATH",)}, **env}
    return _run_krita([runner, "-s", "krita_driver", "-f", "main", str(spec)], full, folder, 300)


def _host_trixie(folder: Path, env: dict[str, str]) -> dict:
    """Trixie's Krita 5.2.9 in the shared host chroot (tests/tools/host_chroot.sh)."""
    if not CHROOT.exists() or os.geteuid() != 0:
        pytest.skip("the trixie host chroot needs tests/tools/host_chroot.sh and root")
    check = subprocess.run([str(CHROOT), "check"], capture_output=True, check=False)
    if check.returncode != 0 and os.environ.get("POCKETSR_BUILD_CHROOT", "1") == "0":
        pytest.skip("the trixie host chroot is not built (tests/tools/host_chroot.sh build)")
    spec = folder / "spec.json"
    outer = {**os.environ, "POCKETSR_HOST_HOME": env["HOME"]}
    inner = [f"{k}={v}" for k, v in env.items() if k != "POCKETSR_TEST_COPIER"]
    command = [
        str(CHROOT),
        "run",
        "--",
        "env",
        *inner,
        "kritarunner",
        "-s",
        "krita_driver",
        "-f",
        "main",
        str(spec),
    ]
    results = _run_krita(
        command, {**outer, "POCKETSR_TEST_COPIER": env["POCKETSR_TEST_COPIER"]}, folder, 900
    )
    if results.get("krita") is None:
        pytest.skip("the chroot could not be built here")
    return results


HOSTS = {"krita-5.1-debian12": _host_debian12, "krita-5.2-trixie": _host_trixie}


@pytest.fixture(scope="module", params=sorted(HOSTS))
def krita_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One real Krita run of every case; its findings plus the inputs' folder."""
    folder = tmp_path_factory.mktemp(request.param)
    env = install_profile(folder)
    cases = _cases(folder)
    (folder / "spec.json").write_text(json.dumps({"cases": cases}), encoding="utf-8")
    results = HOSTS[request.param](folder, env)
    results["spec"] = {c["name"]: c for c in cases}
    results["host"] = request.param
    print(
        f"\n{request.param}: Krita {results['krita']} (Python {results['python']}), "
        f"{results['seconds']} s, installed by {results['copier']}"
    )
    return results


def _case(run: dict, name: str) -> dict:
    """One case's findings, failing with the driver's traceback when it crashed."""
    found = run["cases"][name]
    assert "crash" not in found, found.get("crash")
    return found


def _expected(run: dict, name: str) -> tuple[np.ndarray, tuple[int, int, int, int] | None]:
    """The engine's result on the case's pixels (and the selection box), computed here."""
    from pocketsr.engine import Upscaler
    from pocketsr.engine.types import Rect, Size

    spec = run["spec"][name]
    image = np.load(Path(run["folder"]) / f"{name}-in.npy")
    if spec["model"] == "GRAYA":
        image = image.reshape(spec["height"], spec["width"], 2)
    kwargs = spec["kwargs"]
    box = None
    if spec["selection"]:
        box = _box(_selection_mask(spec["width"], spec["height"]))
    plan = _engine_plan(
        spec["width"],
        spec["height"],
        box,
        kwargs.get("scale", 2),
        tuple(kwargs["size"]) if kwargs.get("size") else None,
    )
    out = plan.placement
    result = Upscaler().upscale(
        image, size=Size(out.width, out.height), roi=Rect(*box) if box else None
    )
    if box:
        mask = _nearest(
            _selection_mask(spec["width"], spec["height"])[
                box[1] : box[1] + box[3], box[0] : box[0] + box[2]
            ],
            out.width,
            out.height,
        )
        result = result.copy()
        result[..., -1] = _masked_alpha(result[..., -1], mask, spec["depth"])
    return result, (plan, box)


MEASURED: dict[str, dict[str, float]] = {}


# --- the real-host tests ---------------------------------------------------------------
@pytest.mark.hosts
@pytest.mark.parametrize(
    "name",
    [
        "u8-whole",
        "u8-selection",
        "u16-whole",
        "u16-selection",
        "f16-whole",
        "f16-selection",
        "f32-whole",
        "f32-selection",
        "u16-target-size",
        "gray-u16",
        "u8-image-to-document",
    ],
)
def test_upscale_matches_engine(krita_run: dict, name: str) -> None:
    """Size, placement, layer order, depth, mask and pixels equal the engine's own result."""
    found = _case(krita_run, name)
    assert "error" not in found, found.get("error")
    spec = krita_run["spec"][name]
    expected, (plan, box) = _expected(krita_run, name)
    out = plan.placement
    to_document = spec["kwargs"].get("output") == "document"
    size = (out.width, out.height) if to_document else plan.image_output
    assert found["result_size"] == list(size)
    assert found["result_depth"] == [spec["model"], spec["depth"]]
    if to_document:
        assert len(found["result_nodes"]) == 1 and found["after"] == found["before"]
    else:
        before = [tuple(n) for n in found["before"]["nodes"]]
        after = [tuple(n) for n in found["result_nodes"]]
        assert after[:-1] == before and after[-1][1] == "paintlayer"
        assert after[-1][0].startswith("PocketSR")
    channels = 2 if spec["model"] == "GRAYA" else 4
    raw = (Path(krita_run["folder"]) / found["out"]).read_bytes()
    layer = np.frombuffer(raw, dtype=DTYPES[spec["depth"]]).reshape(size[1], size[0], channels)
    layer = _from_krita(layer, spec["model"])
    ox, oy = (0, 0) if to_document else (out.x, out.y)
    region = layer[oy : oy + out.height, ox : ox + out.width]
    colour = _max_diff(region[..., :-1], expected[..., :-1])
    alpha = _max_diff(region[..., -1], expected[..., -1])
    outside = layer.copy()
    outside[oy : oy + out.height, ox : ox + out.width] = 0
    MEASURED.setdefault(krita_run["host"], {})[name] = max(colour, alpha)
    print(
        f"{krita_run['host']} {name}: colour diff {colour:g}, alpha diff {alpha:g}, "
        f"{found['seconds']} s"
    )
    assert colour <= TOLERANCE[spec["depth"]]
    assert alpha <= (ALPHA_TOLERANCE if box else TOLERANCE)[spec["depth"]]
    assert not outside.any(), "pixels outside the upscaled selection box"


@pytest.mark.hosts
@pytest.mark.parametrize(("name", "factor"), [("wide-x2", 2.0), ("wide-target", 1.5)])
def test_selection_with_a_wide_model_equals_the_whole_image(
    krita_run: dict, name: str, factor: float
) -> None:
    """The selection's pixels equal the engine's whole-image result there (>= 50 dB)."""
    from pocketsr.engine import Upscaler
    from pocketsr.engine.types import Size

    found = _case(krita_run, name)
    assert "error" not in found, found.get("error")
    spec = krita_run["spec"][name]
    width, height = round(WIDE_DIMS[0] * factor), round(WIDE_DIMS[1] * factor)
    assert found["result_size"] == [width, height]
    image = np.load(Path(krita_run["folder"]) / f"{name}-in.npy")
    whole = Upscaler(model=spec["kwargs"]["model"]).upscale(image, size=Size(width, height))
    bx, by, bw, bh = WIDE_BOX
    x0, y0 = round(bx * factor), round(by * factor)
    x1, y1 = round((bx + bw) * factor), round((by + bh) * factor)
    raw = (Path(krita_run["folder"]) / found["out"]).read_bytes()
    layer = np.frombuffer(raw, dtype=np.float32).reshape(height, width, 4)
    region = _from_krita(layer, "RGBA")[y0:y1, x0:x1]
    mse = float(np.mean((region.astype(np.float64) - whole[y0:y1, x0:x1]) ** 2))
    psnr = 10 * np.log10(1 / max(mse, 1e-20))
    assert psnr >= 50, psnr
    outside = layer.copy()
    outside[y0:y1, x0:x1] = 0
    assert not outside.any(), "pixels outside the upscaled selection box"


@pytest.mark.hosts
def test_plugin_loads_from_the_installed_profile(krita_run: dict) -> None:
    """Krita's Python imports the installed package, which registers its Extension and
    finds its bridge copy next to it (kritarunner runs no plug-in manager: see the GUI test)."""
    facts = krita_run["plugin"]
    assert "PocketSRExtension" in facts["extensions"], facts
    assert "/.local/share/krita/pykrita/pocketsr_upscale/" in facts["package_file"]
    assert facts.get("bridge_file", "").endswith("pykrita/pocketsr_upscale/pocketsr_bridge.py")


@pytest.mark.hosts
def test_unsupported_colour_model_leaves_document_unchanged(krita_run: dict) -> None:
    """CMYK is refused before anything runs, with advice, and the document is as before."""
    found = _case(krita_run, "cmyk-refused")
    assert found["error"]["code"] == "unsupported_colour"
    assert "Convert Image Color Space" in found["error"]["message"]
    assert found["after"] == found["before"]


@pytest.mark.hosts
def test_cancel_leaves_document_unchanged(krita_run: dict) -> None:
    """is_cancelled turning true mid-job: Cancelled, no layer, no resize, same pixels."""
    found = _case(krita_run, "cancel")
    assert found["error"]["type"] == "Cancelled", found
    assert found["progress_calls"] >= 1
    assert found["after"] == found["before"]


@pytest.mark.hosts
def test_missing_engine_python_leaves_document_unchanged(krita_run: dict) -> None:
    """A configured interpreter that does not exist: a clear error, the document as before."""
    found = _case(krita_run, "missing-python")
    assert found["error"]["code"] == "config", found
    assert "/nonexistent/pocketsr-engine/bin/python" in found["error"]["message"]
    assert "installer" in found["error"]["message"]
    assert found["after"] == found["before"]


# --- the full GUI under Xvfb ---------------------------------------------------------------
GUI_PROBE = DRIVER_DIR / "krita_gui_probe"
GUI_SCRIPT = (
    "Xvfb :{n} -screen 0 1280x1024x24 -nolisten tcp -ac >/dev/null 2>&1 & xvfb=$!; sleep 1; "
    "DISPLAY=:{n} timeout 150 krita --nosplash; rc=$?; kill $xvfb; exit $rc"
)


def _gui_photo() -> np.ndarray:
    """A 160x120 opaque RGBA photo crop for the GUI run (the README's dialog picture)."""
    from pocketsr.engine.onnx_tools import natural_test_image

    rgb = natural_test_image(160)[20:140]
    return np.concatenate([rgb, np.full((120, 160, 1), 255, np.uint8)], axis=2)


@pytest.mark.hosts
@pytest.mark.parametrize("host", sorted(HOSTS))
def test_gui_action_in_filter_menu_runs_the_dialog(
    host: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Full Krita under Xvfb loads the enabled plug-in itself (kritarc), puts the action in the
    Filter menu, and the action (dialog accepted by a timer, screenshot kept) adds the layer.
    """
    env = install_profile(tmp_path)
    pykrita = Path(env["XDG_DATA_HOME"]) / "krita" / "pykrita"
    shutil.copytree(GUI_PROBE / "pocketsr_gui_probe", pykrita / "pocketsr_gui_probe")
    shutil.copyfile(
        GUI_PROBE / "pocketsr_gui_probe.desktop", pykrita / "pocketsr_gui_probe.desktop"
    )
    kritarc = Path(env["XDG_CONFIG_HOME"]) / "kritarc"
    kritarc.write_text(kritarc.read_text() + "enable_pocketsr_gui_probe=true\n")
    env.pop("QT_QPA_PLATFORM")
    env.pop("POCKETSR_TEST_COPIER")
    env["POCKETSR_GUI_RESULTS"] = str(tmp_path / "gui.json")
    env["POCKETSR_GUI_SCREENSHOT"] = str(tmp_path / "dialog.png")
    env["POCKETSR_GUI_PREVIEW"] = str(tmp_path / "preview.raw")
    photo = _gui_photo()
    (tmp_path / "photo.raw").write_bytes(photo[..., [2, 1, 0, 3]].tobytes())  # Krita's BGRA
    env["POCKETSR_GUI_IMAGE"] = str(tmp_path / "photo.raw")
    env["POCKETSR_GUI_IMAGE_SIZE"] = f"{photo.shape[1]}x{photo.shape[0]}"
    script = GUI_SCRIPT.format(n=57 if host.endswith("debian12") else 58)
    if host.endswith("debian12"):
        if shutil.which("krita") is None or shutil.which("Xvfb") is None:
            pytest.skip("krita or Xvfb is not installed (apt-get install krita xvfb)")
        command = ["sh", "-c", script]
        full_env = {"PATH": os.environ["PATH"], **env}
    else:
        if not CHROOT.exists() or os.geteuid() != 0:
            pytest.skip("the trixie host chroot needs tests/tools/host_chroot.sh and root")
        inner = [f"{k}={v}" for k, v in env.items()]
        command = [str(CHROOT), "run", "--", "env", *inner, "sh", "-c", script]
        full_env = {**os.environ, "POCKETSR_HOST_HOME": str(tmp_path)}
    proc = subprocess.run(
        command, env=full_env, capture_output=True, text=True, timeout=240, check=False
    )
    results = tmp_path / "gui.json"
    if not results.exists():
        pytest.fail(
            f"Krita's GUI wrote no results (exit {proc.returncode}):\n"
            + (proc.stdout + proc.stderr)[-4000:]
        )
    facts = json.loads(results.read_text())
    print(f"\n{host} GUI: {facts}")
    assert "error" not in facts, facts["error"]
    assert "PocketSRExtension" in facts["extensions"]
    assert facts["action"] == "pocketsr_upscale" and facts["action_text"] == "PocketSR Upscale…"
    assert facts["menus"] == ["Filter"]
    assert facts.get("dialog_accepted") and "message_box" not in facts, facts
    assert facts["strength_visible"] is True  # the default model has a partner
    # The preview: a 1:1 crop of the default x2 upscale of the document's centre, exactly
    # the engine's output for that region.
    preview = facts.get("preview")
    assert preview is not None, facts.get("preview_status")
    x, y, w, h = preview["region"]
    assert [w, h] == [128, 120] and preview["size"] == [256, 240] and facts["before_differs"]
    assert facts["during_preview"] == [160, 120, 1]  # the preview changed nothing
    from pocketsr.engine import Upscaler
    from pocketsr.engine.types import Rect

    expected = Upscaler().upscale(photo, roi=Rect(x, y, w, h), scale=2)
    got = np.frombuffer((tmp_path / "preview.raw").read_bytes(), np.uint8)
    assert np.array_equal(got.reshape(expected.shape), expected)
    print(f"{host} preview of {w}x{h} px rendered in {preview['seconds']:.3f} s")
    assert facts["before"] == [160, 120, 1]
    assert facts["after"][:2] == [320, 240] and facts["after"][2][-1].startswith("PocketSR 2")
    assert facts["screenshot"] and (tmp_path / "dialog.png").stat().st_size > 1000
    keep = os.environ.get("POCKETSR_KRITA_SCREENSHOT")
    if keep:
        shutil.copyfile(tmp_path / "dialog.png", keep)
