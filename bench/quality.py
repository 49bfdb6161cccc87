"""Measure PSNR/SSIM-Y per eval set, speed, and NIQE on real/ for bicubic, peers and PocketSR.

Run from the repository root: `python -m bench.quality --md bench/QUALITY_table.md`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from bench.images import list_images, load_rgb8, load_rgb8_noted
from bench.metrics import blocks_left, grid_peak_db, noise_left, psnr_y, ssim_y
from bench.niqe import niqe
from bench.peers import DEFAULT_METHODS, SCALE, Method, available_methods

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_SETS = ("Set5", "Set14", "Kodak24")
LR_KINDS = {"a": "given bicubic LR", "b": "fixed-seed realistic degradation (degrade_fixed)"}
FAST_PEER = "realesr-animevideov3"
# The visual bar on real photos: how close each method comes to its output (PSNR-Y).
VISUAL_BAR = "RealESRGAN_x4plus"


@dataclass
class Pair:
    """One evaluation image: its name, the HR and the LR of each kind."""

    name: str
    hr: np.ndarray
    lr: dict[str, np.ndarray] = field(default_factory=dict)


def log(msg: str) -> None:
    """Progress to stderr (stdout carries the JSON)."""
    print(msg, file=sys.stderr, flush=True)


def load_degrade_fixed() -> tuple[Callable[..., np.ndarray] | None, str]:
    """Return pocketsr.model.degradation.degrade_fixed, or None and why it is missing."""
    try:
        from pocketsr.model.degradation import degrade_fixed
    except ImportError as exc:
        return None, f"pocketsr.model.degradation.degrade_fixed not available ({exc})"
    src = REPO / "model" / "degradation.py"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12] if src.is_file() else "?"
    return degrade_fixed, f"model/degradation.py sha256 {digest}"


def bicubic_down(hr: np.ndarray) -> np.ndarray:
    """Pillow bicubic /4 of an HR whose sides are multiples of 4."""
    h, w = hr.shape[:2]
    img = Image.fromarray(hr).resize((w // SCALE, h // SCALE), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def load_set(set_dir: Path, limit: int | None) -> list[Pair]:
    """Load a set: HR/ + LRx4/ pairs (HR cropped to 4x the LR), or HR only with a bicubic LR."""
    pairs = []
    lr_dir, hr_dir = set_dir / "LRx4", set_dir / "HR"
    if lr_dir.is_dir() and hr_dir.is_dir():
        for lr_path in list_images(lr_dir)[:limit]:
            lr = load_rgb8(lr_path)
            hr = load_rgb8(hr_dir / lr_path.name)[: lr.shape[0] * SCALE, : lr.shape[1] * SCALE]
            if hr.shape[:2] != (lr.shape[0] * SCALE, lr.shape[1] * SCALE):
                raise ValueError(f"{lr_path.name}: HR {hr.shape} smaller than 4x LR {lr.shape}")
            pairs.append(Pair(lr_path.stem, hr, {"a": lr}))
    else:
        for hr_path in list_images(set_dir)[:limit]:
            hr = load_rgb8(hr_path)
            hr = hr[: hr.shape[0] // SCALE * SCALE, : hr.shape[1] // SCALE * SCALE]
            pairs.append(Pair(hr_path.stem, hr, {"a": bicubic_down(hr)}))
    return pairs


def add_degraded(pairs: list[Pair], degrade_fixed: Callable[..., np.ndarray]) -> None:
    """Add the fixed-seed realistic LR (seed = index of the image in the sorted set)."""
    for i, p in enumerate(pairs):
        lr = degrade_fixed(p.hr, seed=i, scale=SCALE)
        want = (p.hr.shape[0] // SCALE, p.hr.shape[1] // SCALE, 3)
        if lr.shape != want:
            raise ValueError(f"degrade_fixed gave {lr.shape} for HR {p.hr.shape}, want {want}")
        p.lr["b"] = lr


def timed(method: Method, lr: np.ndarray) -> tuple[np.ndarray, float]:
    """Upscale and return the output with its wall time in seconds."""
    t0 = time.perf_counter()
    sr = method.upscale(lr)
    dt = time.perf_counter() - t0
    want = (lr.shape[0] * SCALE, lr.shape[1] * SCALE, 3)
    if sr.shape != want or sr.dtype != np.uint8:
        raise ValueError(f"{method.name} returned {sr.shape} {sr.dtype}, want {want} uint8")
    return sr, dt


def eval_method_on_set(method: Method, pairs: list[Pair], kind: str) -> dict:
    """PSNR/SSIM-Y with and without a 4-pixel crop, averaged over a set, plus timing."""
    rows = []
    for p in pairs:
        sr, dt = timed(method, p.lr[kind])
        rows.append(
            {
                "image": p.name,
                "psnr_y": psnr_y(sr, p.hr),
                "ssim_y": ssim_y(sr, p.hr),
                "psnr_y_crop4": psnr_y(sr, p.hr, border=4),
                "ssim_y_crop4": ssim_y(sr, p.hr, border=4),
                "seconds": dt,
                "out_mp": sr.shape[0] * sr.shape[1] / 1e6,
            }
        )
    keys = ("psnr_y", "ssim_y", "psnr_y_crop4", "ssim_y_crop4")
    summary = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    summary["n"] = len(rows)
    summary["seconds"] = float(sum(r["seconds"] for r in rows))
    summary["out_mp"] = float(sum(r["out_mp"] for r in rows))
    summary["images"] = rows
    return summary


def eval_niqe_real(
    method: Method,
    real: list[tuple[str, np.ndarray]],
    params: Path,
    reference: dict[str, np.ndarray] | None = None,
) -> dict:
    """On the real/ images: NIQE of each x4 output, the share of input noise and of JPEG block
    edges left, how much a pixel-shuffle grid stands out, and PSNR-Y against a reference
    method's output (the visual bar) when one is given."""
    scores, left, blocks, grid, close, seconds, mp = {}, {}, {}, {}, {}, 0.0, 0.0
    outputs = {}
    for name, lr in real:
        sr, dt = timed(method, lr)
        outputs[name] = sr
        scores[name] = niqe(sr, params)
        left[name] = noise_left(lr, sr)
        blocks[name] = blocks_left(lr, sr) if min(lr.shape[:2]) >= 32 else float("nan")
        grid[name] = grid_peak_db(sr) if min(sr.shape[:2]) >= 64 else float("nan")
        if reference is not None and name in reference:
            close[name] = psnr_y(sr, reference[name], border=4)
        seconds += dt
        mp += sr.shape[0] * sr.shape[1] / 1e6
    finite = [v for v in close.values() if math.isfinite(v)]
    return {
        "mean": float(np.mean(list(scores.values()))),
        "per_image": scores,
        "noise_left": float(np.nanmean(list(left.values()))),
        "noise_left_per_image": left,
        # Over the inputs that show JPEG blocks on the (0, 0) grid (the others are NaN).
        "blocks_left": _nanmean(blocks),
        "blocks_left_per_image": blocks,
        "grid_db": float(np.nanmean(list(grid.values()))),
        "grid_db_per_image": grid,
        f"psnr_y_vs_{VISUAL_BAR}": float(np.mean(finite)) if finite else None,
        "seconds": seconds,
        "out_mp": mp,
        "outputs": outputs,
    }


def _nanmean(values: dict[str, float]) -> float:
    """The mean of the finite values, NaN when there are none."""
    finite = [v for v in values.values() if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def niqe_or_none(img: np.ndarray, params: Path) -> float | None:
    """NIQE, or None for an image with fewer than two 96x96 blocks."""
    try:
        return niqe(img, params)
    except ValueError:
        return None


def machine_info(threads: int) -> dict:
    """Describe the machine and the thread setting the timings were taken with."""
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "python": platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if "model name" in ln), None)
        if model:
            info["cpu_model"] = model
    except OSError:
        pass
    try:
        import ncnn

        info["ncnn"] = getattr(ncnn, "__version__", "?")
    except ImportError:
        pass
    return info


def limit_threads(threads: int) -> None:
    """Ask the numeric libraries this process may load to use `threads` threads."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def speed_table(results: dict) -> dict:
    """Total seconds, output megapixels and MP/s per method over every eval-set upscale."""
    speed = {}
    for name, per_set in results.items():
        secs = sum(r["seconds"] for kinds in per_set.values() for r in kinds.values())
        mp = sum(r["out_mp"] for kinds in per_set.values() for r in kinds.values())
        n = sum(r["n"] for kinds in per_set.values() for r in kinds.values())
        if not n:
            continue  # a real/-only method: its speed is in the real/ figures
        speed[name] = {"images": n, "seconds": secs, "out_mp": mp, "mp_per_s": mp / secs}
    fast = speed.get(FAST_PEER)
    for s in speed.values():
        s[f"x_{FAST_PEER}"] = s["mp_per_s"] / fast["mp_per_s"] if fast else None
    return speed


def _f(x: float | None, digits: int) -> str:
    if x is None or math.isnan(x):
        return "-"
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def markdown(report: dict) -> str:
    """Render the report as markdown tables."""
    out = [
        f"Machine: {report['machine'].get('cpu_model', report['machine']['processor'])}, "
        f"{report['machine']['cpu_count']} cores, {report['machine']['threads']} thread(s).",
        "",
    ]
    res = report["results"]
    for kind, label in LR_KINDS.items():
        if not any(kind in per_set.get(s, {}) for per_set in res.values() for s in report["sets"]):
            continue
        out += [f"### ({kind}) {label}", ""]
        out.append(
            "| set | method | PSNR-Y crop4 | SSIM-Y crop4 | PSNR-Y | SSIM-Y | vs bicubic (c4) |"
        )
        out.append("|---|---|---|---|---|---|---|")
        for s in report["sets"]:
            base = res.get("bicubic", {}).get(s, {}).get(kind)
            for name, per_set in res.items():
                r = per_set.get(s, {}).get(kind)
                if r is None:
                    continue
                delta = r["psnr_y_crop4"] - base["psnr_y_crop4"] if base else None
                out.append(
                    f"| {s} ({r['n']}) | {name} | {_f(r['psnr_y_crop4'], 2)} | "
                    f"{_f(r['ssim_y_crop4'], 4)} | {_f(r['psnr_y'], 2)} | {_f(r['ssim_y'], 4)} | "
                    f"{'-' if delta is None else f'{delta:+.2f}'} |"
                )
        out.append("")
    if report["speed"]:
        out += ["### Speed (all eval-set upscales above, single process)", ""]
        out.append(f"| method | images | seconds | output MP | MP/s | x {FAST_PEER} |")
        out.append("|---|---|---|---|---|---|")
        for name, s in report["speed"].items():
            out.append(
                f"| {name} | {s['images']} | {s['seconds']:.2f} | {s['out_mp']:.2f} | "
                f"{s['mp_per_s']:.3f} | {_f(s[f'x_{FAST_PEER}'], 2)} |"
            )
        out.append("")
    if report["niqe_real"]:
        names = list(next(iter(report["niqe_real"].values()))["per_image"])
        out += ["### NIQE on real/ (x4 outputs, lower is more natural)", ""]
        out.append(
            f"noise left: Immerkaer sigma of the output brought back to the LR grid / the "
            f"input's (lower removes more); blocks left: the same for the steps across JPEG "
            f"block lines (8 px luma, 16 px chroma), over the inputs that show them; "
            f"grid: how far a pattern repeating every 4 pixels "
            f"stands out of the spectrum around it, dB (bicubic -2 to -3.5; lower is cleaner); "
            f"vs {VISUAL_BAR}: PSNR-Y (crop 4) against its output."
        )
        out.append("")
        out.append(
            f"| method | NIQE mean | noise left | blocks left | grid | vs {VISUAL_BAR} | "
            + " | ".join(names)
            + " |"
        )
        out.append("|---|---|---|---|---|---|" + "---|" * len(names))
        for name, r in report["niqe_real"].items():
            cells = " | ".join(_f(r["per_image"][n], 2) for n in names)
            left = _f(r.get("noise_left"), 3)
            blocks = _f(r.get("blocks_left"), 3)
            grid = _f(r.get("grid_db"), 2)
            bar = _f(r.get(f"psnr_y_vs_{VISUAL_BAR}"), 2)
            out.append(
                f"| {name} | {r['mean']:.3f} | {left} | {blocks} | {grid} | {bar} | {cells} |"
            )
        notes = {k: v for k, v in report["real_notes"].items() if v}
        if notes:
            out += [
                "",
                "Inputs converted to 8-bit RGB: "
                + "; ".join(f"{k}: {v}" for k, v in notes.items())
                + ".",
            ]
        out.append("")
    if report["unavailable"]:
        out += ["Not measured: " + "; ".join(report["unavailable"].values()), ""]
    return "\n".join(out)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS))
    ap.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    ap.add_argument("--lr", nargs="+", choices=sorted(LR_KINDS), default=sorted(LR_KINDS))
    ap.add_argument("--limit", type=int, default=None, help="first N images per set / real")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-real", action="store_true", help="skip NIQE on real/")
    ap.add_argument(
        "--real-only",
        nargs="*",
        default=[],
        metavar="METHOD",
        help="methods run on real/ only (slow peers whose eval-set figures are known)",
    )
    ap.add_argument("--md", type=Path, default=None, help="write the markdown here")
    ap.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the JSON report."""
    args = parse_args(argv)
    limit_threads(args.threads)
    eval_dir, real_dir = args.data_dir / "eval", args.data_dir / "real"
    params = args.data_dir / "niqe_pris_params.npz"
    if not eval_dir.is_dir():
        log(f"data folder not found: {eval_dir} (pass --data-dir)")
        return 2
    methods, unavailable = available_methods(args.methods, args.threads)
    for why in unavailable.values():
        log(f"skipping: {why}")
    degrade_fixed, degrade_note = (None, "not requested")
    if "b" in args.lr:
        degrade_fixed, degrade_note = load_degrade_fixed()
        if degrade_fixed is None:
            log(f"skipping (b): {degrade_note}")
    sets: dict[str, list[Pair]] = {}
    for s in args.sets:
        sets[s] = load_set(eval_dir / s, args.limit)
        if degrade_fixed is not None:
            add_degraded(sets[s], degrade_fixed)
    kinds = [k for k in args.lr if k == "a" or degrade_fixed is not None]
    real, real_notes = [], {}
    if not args.no_real and real_dir.is_dir() and params.is_file():
        for path in list_images(real_dir)[: args.limit]:
            img, note = load_rgb8_noted(path)
            real.append((path.name, img))
            real_notes[path.name] = note
    results: dict[str, dict] = {}
    niqe_real: dict[str, dict] = {}
    if real:
        per_image = {n: niqe_or_none(img, params) for n, img in real}
        scored = [v for v in per_image.values() if v is not None]
        niqe_real["input (LR, no upscale)"] = {
            "mean": float(np.mean(scored)),
            "per_image": per_image,
            "note": f"mean over the {len(scored)} inputs with at least two 96x96 blocks",
        }
    warm = np.full((16, 16, 3), 128, np.uint8)
    # The visual bar runs first so every other method can be compared with its output.
    methods.sort(key=lambda m: m.name != VISUAL_BAR)
    reference = None
    for m in methods:
        m.upscale(warm)  # first-call set-up is not timed
        results[m.name] = {}
        for s, pairs in sets.items():
            if m.name in args.real_only:
                continue
            results[m.name][s] = {}
            for kind in kinds:
                log(f"{m.name}: {s} ({kind}) ...")
                r = eval_method_on_set(m, pairs, kind)
                log(f"  PSNR-Y crop4 {r['psnr_y_crop4']:.3f}  {r['seconds']:.1f}s")
                results[m.name][s][kind] = r
        if real:
            log(f"{m.name}: NIQE on real/ ...")
            niqe_real[m.name] = eval_niqe_real(m, real, params, reference)
            outputs = niqe_real[m.name].pop("outputs")
            if m.name == VISUAL_BAR:
                reference = outputs
            log(
                f"  NIQE {niqe_real[m.name]['mean']:.3f}"
                f"  noise left {niqe_real[m.name]['noise_left']:.3f}"
                f"  blocks left {niqe_real[m.name]['blocks_left']:.3f}"
                f"  grid {niqe_real[m.name]['grid_db']:.2f} dB"
            )
    report = {
        "machine": machine_info(args.threads),
        "sets": list(sets),
        "lr_kinds": {k: LR_KINDS[k] for k in kinds},
        "degradation": degrade_note,
        "methods": {m.name: m.note for m in methods},
        "unavailable": unavailable,
        "results": results,
        "speed": speed_table(results),
        "niqe_real": niqe_real,
        "real_notes": real_notes,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    md = markdown(report)
    if args.md:
        args.md.parent.mkdir(parents=True, exist_ok=True)
        args.md.write_text(md + "\n")
    else:
        print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
