"""PocketSR Upscale inside the REAL GIMP 3.0 (Debian trixie chroot, gimp-console batch mode).

The plug-in is installed into a throwaway HOME with the installer's layout, its config names
this venv's Python as the engine, and gimp3_batch.py (run by python-fu-eval) builds images at
8-bit, 16-bit and float precision, calls python-fu-pocketsr-upscale non-interactively and dumps
the results. They are compared with the engine's own result for the same pixels.

Tolerances (output in [0, 1] units), chosen above what was measured:
- whole layer: the plug-in sends exactly the engine's input, so results are bit-identical
  (max difference 0) -- asserted with TOL_EXACT.
- selection: the plug-in sends the selection's box plus the context the engine's plan names
  (the model's receptive field, more when resampling); the result is compared with the
  engine's result for that region (TOL_ROI) and, for a model that reaches 100 px, with the
  whole layer's result (>= 50 dB PSNR).
- mask: the new layer's mask is GIMP's own ×N scaling of the feathered selection; it is
  compared with a nearest-neighbour ×N of the original selection (mean |d| < TOL_MASK_MEAN).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from hostutil import HOST_CHROOT, engine_python, install_plugin, raw, upsample_nearest

from pocketsr.engine import Upscaler
from pocketsr.engine.types import Rect, Size

pytestmark = [pytest.mark.hosts, pytest.mark.usefixtures("host_chroot")]

BATCH = Path(__file__).with_name("gimp3_batch.py")
TOL_EXACT = 1e-6
TOL_ROI = 0.03
TOL_MASK_MEAN = 0.03
DTYPES = {"u8": "uint8", "u16": "uint16", "float": "float32"}
GIMP_TIMEOUT = 240


def _scale(dtype: str) -> float:
    return {"uint8": 255.0, "uint16": 65535.0}.get(dtype, 1.0)


class GimpSession:
    """A throwaway HOME with the plug-in installed, and a way to run GIMP batches in it."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.profile = home / ".config" / "GIMP" / "3.0"
        self.installed_by = install_plugin("gimp", home, self.profile)
        self.config = home / "pocketsr-plugin.json"
        self.config_text = json.dumps({"python": engine_python(), "log_dir": str(home / "logs")})
        self.config.write_text(self.config_text)

    def command(self, spec_path: Path) -> tuple[list[str], dict[str, str]]:
        """The argv and environment of one gimp-console batch run of gimp3_batch.py."""
        env = dict(os.environ)
        env.update(
            POCKETSR_HOST_HOME=str(self.home),
            POCKETSR_CONFIG=str(self.config),
            POCKETSR_HOST_ENV=f"POCKETSR_GIMP_SPEC={spec_path}",
        )
        argv = [
            "bash",
            str(HOST_CHROOT),
            "run",
            "--",
            "gimp-console-3.0",
            "-i",
            "--batch-interpreter=python-fu-eval",
            "-b",
            f"exec(open({str(BATCH)!r}).read())",
            "--quit",
        ]
        return argv, env

    def write_spec(self, name: str, cases: list[dict]) -> tuple[Path, Path]:
        out = self.home / name
        out.mkdir()
        spec_path = out / "spec.json"
        spec_path.write_text(json.dumps({"out": str(out), "cases": cases}))
        return spec_path, out

    def run(self, name: str, cases: list[dict]) -> dict:
        spec_path, out = self.write_spec(name, cases)
        argv, env = self.command(spec_path)
        proc = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=GIMP_TIMEOUT, check=False
        )
        report_path = out / "report.json"
        assert report_path.exists(), f"GIMP wrote no report:\n{proc.stdout}\n{proc.stderr}"
        report = json.loads(report_path.read_text())
        report["stderr"] = proc.stderr
        return report


def make_case(tmp: Path, name: str, image: np.ndarray, precision: str, **extra) -> dict:
    """A case for gimp3_batch.py: the pixels go to a raw file."""
    path = tmp / f"{name}.in.raw"
    path.write_bytes(np.ascontiguousarray(image).tobytes())
    h, w, c = image.shape
    case = {
        "name": name,
        "pixels": str(path),
        "precision": precision,
        "base": "gray" if c in (1, 2) else "rgb",
        "alpha": c in (2, 4),
        "layer_size": [w, h],
        "image_size": [w, h],
        "offsets": [0, 0],
        "args": {},
    }
    case.update(extra)
    return case


def pixels(rng: np.random.Generator, h: int, w: int, c: int, dtype: str) -> np.ndarray:
    """A smooth-ish test image with detail, in dtype's range (alpha varies too)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = [0.5 + 0.4 * np.sin(xx / (3 + k) + yy / (5 + k)) for k in range(c)]
    img = np.stack(base, axis=-1) + rng.normal(0, 0.05, (h, w, c))
    img = np.clip(img, 0, 1).astype(np.float32)
    if dtype == "float32":
        return img
    return np.round(img * _scale(dtype)).astype(dtype)


CASE_IMAGES = {
    # name: (shape, precision, extra fields)
    "rgb8": ((32, 40, 3), "u8", {"args": {"scale": 4}}),
    "rgba16": ((28, 36, 4), "u16", {"args": {"scale": 2, "tile": 16}}),
    "grayf32": ((24, 32, 1), "float", {"args": {"scale": 4, "output": "new-image"}}),
    "sel8": (
        (40, 56, 3),
        "u8",
        {
            "image_size": [64, 48],
            "offsets": [4, 6],
            "selection": {"rect": [14, 12, 30, 22], "feather": 6.0},
            "args": {"scale": 2},
        },
    ),
    "selreplace16": (
        (36, 44, 4),
        "u16",
        {"selection": {"rect": [6, 5, 24, 20], "feather": 0}, "args": {"output": "replace"}},
    ),
    # The artist's controls: half strength, alpha through the model, wrap-around borders.
    "controls8": (
        (24, 28, 4),
        "u8",
        {"args": {"scale": 4, "strength": 0.5, "alpha-mode": "model", "seamless": True}},
    ),
}


# A x2 model whose pixels depend on pixels 100 LR pixels away (receptive field 201), and a
# hard-edged selection box far from the layer's edges: the plug-in must read the context the
# engine's plan names, or the selection's pixels differ from the whole layer's there.
WIDE_SHAPE = (260, 300, 3)
WIDE_BOX = (120, 100, 60, 50)
WIDE_CASES = {"wide-x2": {"scale": 2}, "wide-target": {"target-width": 90}}  # x2 and x1.5


@pytest.fixture(scope="module")
def gimp(tmp_path_factory: pytest.TempPathFactory) -> GimpSession:
    return GimpSession(tmp_path_factory.mktemp("gimp-home"))


@pytest.fixture(scope="module")
def batch(gimp: GimpSession, onnx_models) -> dict:
    """One GIMP run over every upscale case, and the failure case last."""
    rng = np.random.default_rng(7)
    cases, inputs = [], {}
    for name, (shape, precision, extra) in CASE_IMAGES.items():
        h, w, c = shape
        image = pixels(rng, h, w, c, DTYPES[precision])
        inputs[name] = image
        cases.append(make_case(gimp.home, name, image, precision, **extra))
    wide_model = onnx_models.make_wide_context_model(gimp.home / "wide-x2.onnx")
    wide = pixels(rng, *WIDE_SHAPE, "uint8")
    for name, args in WIDE_CASES.items():
        inputs[name] = wide
        selection = {"rect": list(WIDE_BOX), "feather": 0}
        extra = {"selection": selection, "args": {**args, "model": str(wide_model)}}
        cases.append(make_case(gimp.home, name, wide, "u8", **extra))
    broken = json.dumps({"python": "/nonexistent/engine/bin/python"})
    image = pixels(rng, 20, 24, 3, "uint8")
    inputs["failure"] = image
    cases.append(make_case(gimp.home, "failure", image, "u8", config_text=broken))
    start = time.time()
    report = gimp.run("batch", cases)
    report["wall"] = time.time() - start
    report["inputs"] = inputs
    report["by_name"] = {c["name"]: c for c in report["cases"]}
    report["wide_model"] = wide_model
    for case in report["cases"]:
        assert "error" not in case, case["error"] + report["stderr"][-3000:]
    gimp.config.write_text(gimp.config_text)
    return report


@pytest.fixture(scope="module")
def engine() -> Upscaler:
    return Upscaler(model="pocketsr-nano")


def _layer(entry: dict, dtype: str) -> np.ndarray:
    w, h = entry["size"]
    c = 2 if entry["format"].startswith("Y'") else 4
    return raw(entry["pixels"], dtype, w, h, c)


def _as_unit(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) / _scale(str(a.dtype))


def _with_alpha(image: np.ndarray) -> np.ndarray:
    """The engine's output in the dump's layout (alpha 1 added when the source had none)."""
    if image.shape[2] in (2, 4):
        return image
    one = np.full((*image.shape[:2], 1), _scale(str(image.dtype)), dtype=image.dtype)
    return np.concatenate([image, one], axis=2)


def test_registered_under_filters_with_documented_arguments(batch):
    reg = batch["registration"]
    assert reg is not None, "python-fu-pocketsr-upscale is not in GIMP's PDB"
    assert reg["menu_paths"] == ["<Image>/Filters"]
    assert reg["menu_label"] == "PocketSR Upscale\u2026"
    names = ("scale", "target-width", "target-height", "model", "output", "tile", "device")
    for name in (*names, "strength", "alpha-mode", "seamless"):
        assert name in reg["arguments"]


def test_rgb_8bit_new_layer_matches_engine(batch, engine, gimp):
    case = batch["by_name"]["rgb8"]
    assert case["status"] == "GIMP_PDB_SUCCESS", batch["stderr"][-2000:]
    src = batch["inputs"]["rgb8"]
    after = case["after"]
    assert after["size"] == [40 * 4, 32 * 4]
    top, bottom = after["layers"]
    assert top["name"].endswith("\u00d74 (PocketSR)")
    assert top["offsets"] == [0, 0] and top["size"] == [160, 128]
    expected = _with_alpha(engine.upscale(src, scale=4))
    got = _layer(top, "uint8")
    assert np.abs(_as_unit(got) - _as_unit(expected)).max() <= TOL_EXACT
    assert bottom["size"] == [160, 128]  # the original layer, scaled by GIMP
    assert Path(case["xcf"]).stat().st_size > 0


def test_rgba_16bit_keeps_precision_and_alpha(batch, engine):
    case = batch["by_name"]["rgba16"]
    assert case["status"] == "GIMP_PDB_SUCCESS"
    src = batch["inputs"]["rgba16"]
    top = case["after"]["layers"][0]
    got = _layer(top, "uint16")
    expected = engine.upscale(src, scale=2, tile=16)
    assert got.shape == expected.shape == (56, 72, 4)
    assert np.abs(_as_unit(got) - _as_unit(expected)).max() <= TOL_EXACT
    # Not quantised to 8 bits on the way: most samples are off the 8-bit grid (multiples of 257).
    assert np.mean(got % 257 != 0) > 0.9
    assert np.ptp(got[..., 3]) > 1000  # alpha went through, not flattened


def test_strength_alpha_mode_and_seamless_reach_the_engine(batch, engine):
    case = batch["by_name"]["controls8"]
    assert case["status"] == "GIMP_PDB_SUCCESS", batch["stderr"][-2000:]
    src = batch["inputs"]["controls8"]
    got = _layer(case["after"]["layers"][0], "uint8")
    options = {"strength": 0.5, "alpha_mode": "model", "seamless": True}
    expected = engine.upscale(src, scale=4, **options)
    assert np.abs(_as_unit(got) - _as_unit(expected)).max() <= TOL_EXACT
    # ... and they changed something: the same run with the defaults differs.
    assert np.abs(_as_unit(got) - _as_unit(engine.upscale(src, scale=4))).max() > 0.02


def test_float32_gray_new_image(batch, engine):
    case = batch["by_name"]["grayf32"]
    assert case["status"] == "GIMP_PDB_SUCCESS"
    assert len(case["after"]["layers"]) == 1  # the source image is untouched
    new = case["new_image"]
    assert new["size"] == [128, 96]
    assert "float" in new["precision"]
    got = _layer(new["layers"][0], "float32")[..., 0]
    expected = engine.upscale(batch["inputs"]["grayf32"], scale=4)[..., 0]
    assert np.abs(got - expected).max() <= TOL_EXACT
    off_grid = np.abs(got * 255 - np.round(got * 255)) > 1e-3
    assert off_grid.mean() > 0.9


def test_selection_new_layer_placement_mask_and_pixels(batch, engine):
    case = batch["by_name"]["sel8"]
    assert case["status"] == "GIMP_PDB_SUCCESS"
    before, after = case["before"], case["after"]
    sel = raw(before["selection"], "float32", 64, 48, 1)[..., 0]
    ys, xs = np.nonzero(sel > 0)
    # The selection's box in layer coordinates (layer at 4, 6).
    x0, y0 = xs.min() - 4, ys.min() - 6
    w, h = xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
    assert after["size"] == [128, 96]
    top = after["layers"][0]
    assert top["offsets"] == [(4 + x0) * 2, (6 + y0) * 2]
    assert top["size"] == [w * 2, h * 2]
    got = _layer(top, "uint8")
    expected = _with_alpha(
        engine.upscale(batch["inputs"]["sel8"], roi=Rect(x0, y0, w, h), size=Size(w * 2, h * 2))
    )
    diff = np.abs(_as_unit(got) - _as_unit(expected))
    assert diff.max() <= TOL_ROI, diff.max()
    mask = raw(top["mask"], "float32", w * 2, h * 2, 1)[..., 0]
    box = sel[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    want = upsample_nearest(box, 2, 2)
    assert np.abs(mask - want).mean() < TOL_MASK_MEAN
    assert mask[h, w] > 0.99 and mask[0, 0] < 0.01  # centre in, corner out


def test_selection_replace_writes_through_the_selection(batch, engine):
    case = batch["by_name"]["selreplace16"]
    assert case["status"] == "GIMP_PDB_SUCCESS"
    after = case["after"]
    assert after["size"] == [44 * 4, 36 * 4] and len(after["layers"]) == 1
    got = _layer(after["layers"][0], "uint16")
    x, y, w, h = 6, 5, 24, 20  # a hard-edged ellipse in this box
    expected = engine.upscale(batch["inputs"]["selreplace16"], roi=Rect(x, y, w, h), scale=4)
    inner = (slice(4 * (y + 8), 4 * (y + 12)), slice(4 * (x + 9), 4 * (x + 15)))
    e_inner = (slice(32, 48), slice(36, 60))
    d = np.abs(_as_unit(got[inner]) - _as_unit(expected[e_inner]))
    assert d.max() <= TOL_ROI, d.max()
    # Outside the selection the layer is GIMP's own scaling of the original, not the engine's.
    corner = _as_unit(got[:8, :8])
    src = _as_unit(batch["inputs"]["selreplace16"][:2, :2])
    assert np.abs(corner.mean(axis=(0, 1)) - src.mean(axis=(0, 1))).max() < 0.1


@pytest.mark.parametrize(("name", "factor"), [("wide-x2", 2.0), ("wide-target", 1.5)])
def test_selection_with_a_wide_model_equals_the_whole_layer(batch, name, factor):
    """The selection's pixels equal the engine's whole-layer result there (>= 50 dB)."""
    case = batch["by_name"][name]
    assert case["status"] == "GIMP_PDB_SUCCESS", batch["stderr"][-2000:]
    h, w, _ = WIDE_SHAPE
    bx, by, bw, bh = WIDE_BOX
    after = case["after"]
    assert after["size"] == [round(w * factor), round(h * factor)]
    top = after["layers"][0]
    x0, y0 = round(bx * factor), round(by * factor)
    out_w, out_h = round((bx + bw) * factor) - x0, round((by + bh) * factor) - y0
    assert top["offsets"] == [x0, y0] and top["size"] == [out_w, out_h]
    whole = Upscaler(model=str(batch["wide_model"])).upscale(
        batch["inputs"][name], size=Size(round(w * factor), round(h * factor))
    )
    want = _with_alpha(whole[y0 : y0 + out_h, x0 : x0 + out_w])
    got = _layer(top, "uint8")
    mse = np.mean((_as_unit(got) - _as_unit(want)) ** 2)
    assert 10 * np.log10(1 / max(mse, 1e-20)) >= 50


def test_missing_engine_fails_with_message_and_leaves_image_unchanged(batch):
    case = batch["by_name"]["failure"]
    assert case["status"] == "GIMP_PDB_EXECUTION_ERROR"
    assert case["after"]["size"] == case["before"]["size"] == [24, 20]
    assert len(case["after"]["layers"]) == 1
    before = Path(case["before"]["layers"][0]["pixels"]).read_bytes()
    assert Path(case["after"]["layers"][0]["pixels"]).read_bytes() == before
    assert "/nonexistent/engine/bin/python" in batch["stderr"]
    assert "installer" in batch["stderr"]


def _pids_with(needle: bytes, home: Path) -> list[int]:
    """Processes whose command line holds needle and whose environment names our HOME
    (other engineers' workers may run on the same machine)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        try:
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in cmd and str(home).encode() in env:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_killing_the_plugin_mid_job_kills_the_worker_and_leaves_the_image(gimp):
    """GIMP's Cancel kills the plug-in; here we kill it (SIGKILL) while the engine runs."""
    rng = np.random.default_rng(3)
    image = pixels(rng, 640, 640, 3, "uint8")
    marker = gimp.home / "cancel-started"
    case = make_case(gimp.home, "cancel", image, "u8", marker=str(marker), args={"tile": 64})
    spec_path, out = gimp.write_spec("cancel", [case])
    argv, env = gimp.command(spec_path)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + GIMP_TIMEOUT
        workers: list[int] = []
        while time.time() < deadline and not workers:
            time.sleep(0.2)
            workers = _pids_with(b"pocketsr.engine.worker", gimp.home)
            assert proc.poll() is None, proc.communicate()
        assert workers, "the engine worker never started"
        # Let the job get well into its tiles: the model loads in well under a second of CPU,
        # so 3 s of worker CPU time means tiles are running (the whole job needs about 14 s).
        while time.time() < deadline and _cpu_seconds(workers[0]) < 3.0:
            time.sleep(0.1)
        cpu_at_kill = _cpu_seconds(workers[0])
        assert cpu_at_kill >= 3.0, "the worker stopped before it was killed"
        plugins = _pids_with(b"pocketsr_upscale/pocketsr_upscale.py", gimp.home)
        assert len(plugins) == 1, plugins
        os.kill(plugins[0], signal.SIGKILL)
        killed_at = time.time()
        while any(_alive(p) for p in workers) and time.time() - killed_at < 10:
            time.sleep(0.1)
        gone_after = time.time() - killed_at
        assert not any(_alive(p) for p in workers), "the worker outlived the plug-in"
        _stdout, _stderr = proc.communicate(timeout=GIMP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    report = json.loads((out / "report.json").read_text())
    result = report["cases"][0]
    assert "error" not in result, result.get("error")
    assert result["status"] != "GIMP_PDB_SUCCESS"
    assert result["after"]["size"] == [640, 640]
    assert len(result["after"]["layers"]) == 1
    before = Path(result["before"]["layers"][0]["pixels"]).read_bytes()
    assert Path(result["after"]["layers"][0]["pixels"]).read_bytes() == before
    assert gone_after < 5
    print(f"killed at {cpu_at_kill:.1f} s of worker CPU; worker gone after {gone_after:.2f} s")


def _find_block(shot: np.ndarray, block: np.ndarray) -> tuple[int, int] | None:
    """(x, y) where block appears exactly in the screenshot, or None."""
    h, w = block.shape[:2]
    for y, x in np.argwhere(np.all(shot == block[0, 0], axis=2)):
        inside = y + h <= shot.shape[0] and x + w <= shot.shape[1]
        if inside and np.array_equal(shot[y : y + h, x : x + w], block):
            return int(x), int(y)
    return None


def test_dialog_shows_under_xvfb(gimp, engine):
    """The interactive run opens the procedure dialog (GimpUi.ProcedureDialog) under Xvfb,
    with the 1:1 preview of the upscale: the screenshot holds, pixel for pixel, the engine's
    x4 output of the 64x64 crop at the image's centre.

    The screenshot is kept in POCKETSR_SCREENSHOT_DIR when set (the README's picture). The
    dialog is then closed the way GIMP's Cancel would: by killing the plug-in.
    """
    from pocketsr.engine.onnx_tools import natural_test_image

    photo = np.ascontiguousarray(natural_test_image(160)[20:140])
    marker = gimp.home / "dialog-started"
    shot = gimp.home / "gimp-dialog.png"
    case = make_case(gimp.home, "dialog", photo, "u8", marker=str(marker), run_mode="interactive")
    spec_path, out = gimp.write_spec("dialog", [case])
    argv, env = gimp.command(spec_path)
    display = f":{100 + os.getpid() % 100}"
    gimp_cmd = shlex.join(argv[argv.index("--") + 1 :])
    script = (
        f"Xvfb {display} -screen 0 1024x1024x24 -nolisten tcp -ac >/dev/null 2>&1 & xv=$!; "
        f"export DISPLAY={display}; sleep 1; "
        f"python3 {Path(__file__).with_name('xshot.py')} {shot} {marker} 10 & "
        f"{gimp_cmd}; kill $xv"
    )
    argv = [*argv[: argv.index("--") + 1], "sh", "-c", script]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while not shot.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.3)
        time.sleep(0.5)
        plugins = _pids_with(b"pocketsr_upscale/pocketsr_upscale.py", gimp.home)
        for pid in plugins:
            os.kill(pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert shot.exists(), stderr.decode()[-3000:]
    assert plugins, "the plug-in was not waiting in its dialog"
    header = shot.read_bytes()[:24]
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width > 200 and height > 150, (width, height)
    from PIL import Image

    screen = np.asarray(Image.open(shot).convert("RGB"))
    expected = engine.upscale(photo, roi=Rect(48, 28, 64, 64), scale=4)
    assert _find_block(screen, expected) is not None, "the preview is not in the dialog"
    keep = os.environ.get("POCKETSR_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        (Path(keep) / shot.name).write_bytes(shot.read_bytes())
    report = json.loads((out / "report.json").read_text())["cases"][0]
    assert len(report["after"]["layers"]) == 1  # closing the dialog changed nothing
