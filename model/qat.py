"""Quantisation-aware fine-tuning: a trained network learns to keep its own fp32 output when
ONNX Runtime runs its convolutions in int8.

    python -m pocketsr.model.qat runs/x/detail_final.pt runs/x/qat.pt --data ../shared/data/train
    python -m pocketsr.model.export runs/x/qat.pt model-int8.onnx --int8

What is simulated is what `write_int8` later writes (static QDQ, convolutions only): each
convolution's input and output as per-tensor uint8 with a zero point, its weights per output
channel as symmetric 7-bit integers (QuantConv.weight_int8 says why 7), its bias in fp32. The
fixed bicubic base is no nn.Conv2d and stays fp32. The fine-tune is self-distillation on
degraded LR crops (the frozen fp32 network is the target), and the ranges it ends with are
written into the int8 file, so that the file runs what was trained.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class ActRange(nn.Module):
    """A per-tensor uint8 range (always containing 0, as ONNX Runtime's calibration makes it)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))
        self.observing = False

    def scale_zero_point(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The uint8 scale and zero point of the current range."""
        lo, hi = self.lo.clamp(max=0), self.hi.clamp(min=0)
        scale = ((hi - lo) / 255).clamp(min=1e-8)
        zero = torch.round(-lo / scale).clamp(0, 255).to(torch.int32)
        return scale, zero

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Widen the range while observing; otherwise fake-quantise to it."""
        if self.observing:
            self.lo = torch.minimum(self.lo, x.detach().min())
            self.hi = torch.maximum(self.hi, x.detach().max())
            return x
        scale, zero = self.scale_zero_point()
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 255)


class QuantConv(nn.Module):
    """An nn.Conv2d run as ONNX Runtime's QDQ int8 convolution would run it."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = conv
        self.inp, self.out = ActRange(), ActRange()

    def weight_int8(self) -> torch.Tensor:
        """The weights fake-quantised per output channel, symmetric, 7 bits (-64..64).

        Seven, because x86 CPUs without VNNI multiply uint8 by int8 in pairs summed into
        int16 (VPMADDUBSW), which saturates with full 8-bit weights: measured here on an AVX2
        EPYC, post-training int8 of the shipped default fell to 26 dB from its fp32 output on
        one real photo, and to 41.7 dB with 7-bit weights. ONNX Runtime's reduce_range.
        """
        w = self.conv.weight
        absmax = w.detach().abs().amax(dim=(1, 2, 3)).clamp(min=1e-8)
        scale = absmax / 64
        zero = torch.zeros_like(scale, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -64, 64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantised input, int8 weights, fp32 bias, quantised output."""
        c = self.conv
        if self.inp.observing:
            y = c(self.inp(x))
        else:
            y = F.conv2d(
                self.inp(x), self.weight_int8(), c.bias, c.stride, c.padding, c.dilation, c.groups
            )
        return self.out(y)


def quantise_convs(model: nn.Module) -> dict[str, QuantConv]:
    """Swap every nn.Conv2d of `model` for a QuantConv in place; name -> QuantConv."""
    found: dict[str, QuantConv] = {}
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Conv2d):
                q = QuantConv(child)
                setattr(module, child_name, q)
                found[f"{name}.{child_name}" if name else child_name] = q
    return found


def unwrap_convs(model: nn.Module) -> None:
    """Put the plain nn.Conv2d back in place of every QuantConv."""
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, QuantConv):
                setattr(module, child_name, child.conv)


@torch.no_grad()
def calibrate(model, convs: dict[str, QuantConv], batches: list[torch.Tensor]) -> None:
    """Set every range to the min..max that `model` (a callable) meets over `batches`
    (ONNX Runtime's MinMax)."""
    ranges = [r for q in convs.values() for r in (q.inp, q.out)]
    for r in ranges:
        r.lo.fill_(math.inf)
        r.hi.fill_(-math.inf)
        r.observing = True
    for x in batches:
        model(x)
    for r in ranges:
        r.observing = False


def conv_ranges(convs: dict[str, QuantConv]) -> dict[str, dict[str, list[float]]]:
    """Module name -> {"input": [lo, hi], "output": [lo, hi]}: what the int8 file is given."""
    return {
        name: {
            "input": [float(q.inp.lo), float(q.inp.hi)],
            "output": [float(q.out.lo), float(q.out.hi)],
        }
        for name, q in convs.items()
    }


def _lr_batches(photos, count: int, seed: int, scale: int, hr_crop: int) -> torch.Tensor:
    from .data import make_pool

    pool = make_pool(photos, count, hr_crop, seed, scale, clean_fraction=0.1, mild_fraction=0.3)
    return torch.from_numpy(pool.lr).permute(0, 3, 1, 2).float() / 255


def share_ranges(convs: list[dict[str, QuantConv]]) -> None:
    """Make every network's QuantConv of a name use the first network's ranges.

    Two ends of a strength pair share their int8 activation ranges (the union of what both
    see), so that their int8 files differ in float weights only and the engine's strength
    blend (engine/strength.py) mixes them as it mixes the fp32 pair.
    """
    first = convs[0]
    for other in convs[1:]:
        for name, q in other.items():
            q.inp, q.out = first[name].inp, first[name].out


def fine_tune(
    models: list[nn.Module],
    photos,
    minutes: float,
    steps: int,
    lr: float = 2e-5,
    batch: int = 16,
    recalibrate_every: int = 250,
    hr_crop: int = 128,
    pool_size: int = 1024,
    calibration: int = 128,
    log=print,
) -> tuple[list[nn.Module], dict[str, dict[str, list[float]]]]:
    """Self-distil a fake-quantised copy of each model towards it, all on shared ranges;
    (the copies, their ranges)."""
    scale = getattr(getattr(models[0], "cfg", None), "scale", 4)
    teachers = [m.eval().requires_grad_(False) for m in models]
    students = [copy.deepcopy(m).requires_grad_(True) for m in models]
    convs = [quantise_convs(s) for s in students]
    share_ranges(convs)

    def recalibrate(batches: list[torch.Tensor]) -> None:
        calibrate(lambda x: [s(x) for s in students], convs[0], batches)

    calib = list(_lr_batches(photos, calibration, 12345, scale, hr_crop).split(16))
    recalibrate(calib)
    params = [p for s in students for p in s.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator().manual_seed(0)
    start, step, pool = time.time(), 0, None
    while step < steps and time.time() - start < minutes * 60:
        if step % 1000 == 0:
            pool = _lr_batches(photos, pool_size, step // 1000, scale, hr_crop)
        if step and step % recalibrate_every == 0:
            recalibrate(calib)
        frac = min(1.0, max(step / steps, (time.time() - start) / (minutes * 60)))
        for g in opt.param_groups:
            g["lr"] = lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        x = pool[torch.randint(0, pool.shape[0], (batch,), generator=gen)]
        loss = torch.zeros(())
        for student, teacher in zip(students, teachers, strict=True):
            with torch.no_grad():
                target = teacher(x)
            loss = loss + F.l1_loss(student(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            elapsed = round(time.time() - start, 1)
            log(json.dumps({"step": step, "elapsed": elapsed, "l1": loss.item() / len(students)}))
    recalibrate(calib)
    ranges = conv_ranges(convs[0])
    for student in students:
        unwrap_convs(student)
    return [s.eval() for s in students], ranges


def _save(ck: dict, tuned: nn.Module, ranges: dict, source: Path, out: Path) -> None:
    from ..engine.atomic_write import atomic_path

    keep = {k: v for k, v in ck.items() if k not in ("model", "opt", "disc", "disc_opt")}
    keep["ema"] = tuned.state_dict()
    keep["model"] = keep["ema"]
    keep["quant"] = ranges
    keep["qat_of"] = str(source)
    with atomic_path(out, overwrite=True) as tmp:
        torch.save(keep, tmp)


def main(argv: list[str] | None = None) -> int:
    """Fine-tune a checkpoint for int8 and write the checkpoint export.py --int8 reads."""
    from .data import load_photos
    from .export import load_checkpoint_model

    p = argparse.ArgumentParser(prog="python -m pocketsr.model.qat", description=__doc__)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--data", type=Path, required=True, help="folder of HR training photos")
    p.add_argument("--minutes", type=float, default=20)
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--hr-crop", type=int, default=128)
    p.add_argument(
        "--pool-size", type=int, default=1024, help="crops per pool (renewed per 1000 steps)"
    )
    p.add_argument("--calibration", type=int, default=128, help="crops the ranges are measured on")
    p.add_argument(
        "--partner",
        nargs=2,
        type=Path,
        metavar=("CHECKPOINT", "OUTPUT"),
        help="the other end of a strength pair, fine-tuned alongside on shared ranges",
    )
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sources = [(args.checkpoint, args.output)]
    if args.partner:
        sources.append(tuple(args.partner))
    loaded = [load_checkpoint_model(src) for src, _ in sources]
    photos = load_photos([args.data], min_side=args.hr_crop)
    tuned, ranges = fine_tune(
        [model for model, _ in loaded],
        photos,
        args.minutes,
        args.steps,
        args.lr,
        hr_crop=args.hr_crop,
        pool_size=args.pool_size,
        calibration=args.calibration,
    )
    for (src, out), (_, ck), net in zip(sources, loaded, tuned, strict=True):
        _save(ck, net, ranges, src, out)
    print(json.dumps({"outputs": [str(out) for _, out in sources], "convs": len(ranges)}))
    return 0


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b)


def write_int8(fp32: Path, out: Path, model: nn.Module, ranges: dict) -> Path:
    """Write the static QDQ int8 copy of the exported `fp32` file with the trained ranges.

    Weights stay fp32 initializers behind QuantizeLinear (ONNX Runtime folds them at load), so
    the engine's strength mix still blends them; bias stays fp32. Convolutions are matched to
    the network's modules by their weights; any other convolution (the bicubic base) is left fp32.
    """
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    from ..engine.atomic_write import atomic_path

    proto = onnx.load(str(fp32))
    inits = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    weights = {
        name: m.weight.detach().numpy()
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
    }
    overrides: dict[str, list[dict]] = {}
    exclude: list[str] = []
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        w = inits.get(node.input[1])
        name = next(
            (
                n
                for n, v in weights.items()
                if w is not None and v.shape == w.shape and np.array_equal(v, w)
            ),
            None,
        )
        if name is None or name not in ranges:
            exclude.append(node.name)
            continue
        for tensor, key in ((node.input[0], "input"), (node.output[0], "output")):
            lo, hi = ranges[name][key]
            lo, hi = min(lo, 0.0), max(hi, 0.0)
            scale = max((hi - lo) / 255, 1e-8)
            zero = int(np.clip(round(-lo / scale), 0, 255))
            overrides[tensor] = [
                {"scale": np.array(scale, np.float32), "zero_point": np.array(zero, np.uint8)}
            ]

    class OneInput(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"lr": np.random.default_rng(0).random((1, 3, 32, 32), np.float32)}])

        def get_next(self):
            return next(self.items, None)

    with atomic_path(out, overwrite=True) as tmp:
        quantize_static(
            str(fp32),
            str(tmp),
            OneInput(),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["Conv"],
            nodes_to_exclude=exclude,
            per_channel=True,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            extra_options={
                "AddQDQPairToWeight": True,
                "QuantizeBias": False,
                "TensorQuantOverrides": overrides,
            },
        )
        # Scales come out as float_data; the engine's strength blend reads raw_data only
        # (engine/onnx_weights.py), so every float initializer is stored raw.
        quantised = onnx.load(str(tmp))
        for init in quantised.graph.initializer:
            if init.data_type == onnx.TensorProto.FLOAT and not init.raw_data:
                init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init), init.name))
        onnx.save(quantised, str(tmp))
    return out


if __name__ == "__main__":
    sys.exit(main())
