"""Export a trained PocketSR checkpoint to ONNX with the metadata the engine reads.

python -m pocketsr.model.export runs/nano/gan_final.pt engine/weights/pocketsr-nano.onnx
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..engine.atomic_write import atomic_path
from ..engine.onnx_tools import METADATA_PREFIX, settle_receptive_field
from .config import NetConfig
from .network import PocketSR, is_tile_safe


class ClampedOutput(nn.Module):
    """The network with its output clamped to 0..1, as the engine expects."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Super-resolve and clamp."""
        return self.net(x).clamp(0, 1)


def load_checkpoint_model(path: Path) -> tuple[nn.Module, dict]:
    """The EMA network of a checkpoint (structure read from the checkpoint itself)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck["stage"] == "plain":
        from .baseline import PlainSR

        convs = sorted(k for k in ck["ema"] if k.endswith(".weight"))
        plain = PlainSR(ck["ema"]["body.0.weight"].shape[0], len(convs) - 2)
        plain.load_state_dict(ck["ema"])
        return plain.eval(), ck
    net_cfg = NetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ck["net"].items()})
    model = PocketSR(net_cfg, heavy=True)
    if ck.get("pruned") or ck["stage"] == "gan":
        from .network import attach_light, prune_heavy

        attach_light(model)
        prune_heavy(model)
    model.load_state_dict(ck["ema"])
    return model.eval(), ck


def receptive_field(model: nn.Module, size: int = 320, share: float = 1e-4) -> tuple[int, int]:
    """(effective, full) receptive field in LR pixels, measured by back-propagation.

    full: the input extent that can move the centre output pixel at all. effective: the extent
    outside which the gradient magnitude falls below `share` of its peak; tiles that overlap by
    this much agree to far better than 8-bit precision, which the engine's tests check.
    """
    x = torch.rand(1, 3, size, size, requires_grad=True)
    y = model(x)
    c = y.shape[-1] // 2
    y[0, :, c, c].sum().backward()
    g = x.grad[0].abs().sum(0)

    def extent(mask: torch.Tensor) -> int:
        idx = mask.nonzero()
        if idx.numel() == 0:
            return 1
        return int((idx.max(0).values - idx.min(0).values + 1).max())

    return extent(g > share * g.max()), extent(g > 0)


def export_onnx(
    model: nn.Module,
    out: Path,
    metadata: dict[str, str],
    opset: int = 17,
) -> Path:
    """Write the ONNX file (dynamic height/width) with metadata, atomically."""
    import onnx

    wrapped = ClampedOutput(model).eval()
    example = torch.rand(1, 3, 64, 64)
    with atomic_path(out, overwrite=True) as tmp:
        torch.onnx.export(
            wrapped,
            (example,),
            str(tmp),
            input_names=["lr"],
            output_names=["sr"],
            dynamic_axes={
                "lr": {0: "batch", 2: "height", 3: "width"},
                "sr": {0: "batch", 2: "out_height", 3: "out_width"},
            },
            opset_version=opset,
            dynamo=False,
        )
        proto = onnx.load(str(tmp))
        for key, value in metadata.items():
            entry = proto.metadata_props.add()
            entry.key = METADATA_PREFIX + key
            entry.value = str(value)
        onnx.save(proto, str(tmp))
    return out


def parity(model: nn.Module, path: Path, size: tuple[int, int] = (40, 56)) -> float:
    """Max |PyTorch - ONNX Runtime| on a random input."""
    import onnxruntime as ort

    x = torch.rand(1, 3, *size)
    with torch.no_grad():
        ref = ClampedOutput(model)(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"lr": x.numpy()})[0]
    return float(np.abs(ref - got).max())


def _export_int8(model, ck: dict, out: Path, meta: dict, rf: int, rf_full: int) -> int:
    """The int8 file of a model.qat checkpoint, its tile overlap settled and its distance from
    the fp32 network reported (int8 is not held to the 1e-4 parity of fp32)."""
    import tempfile

    import onnxruntime as ort

    from .qat import write_int8

    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(model, Path(tmp) / "fp32.onnx", meta)
        write_int8(fp32, out, model, ck["quant"])
    if is_tile_safe(model):
        rf = settle_receptive_field(out, rf // 2, rf_full)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ref = ClampedOutput(model)(x).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"lr": x.numpy()}
    )[0]
    db = 10 * math.log10(1 / max(1e-12, float(np.mean((ref - got) ** 2))))
    print(
        json.dumps(
            {"output": str(out), "receptive_field": [rf, rf_full], "psnr_vs_fp32_db": round(db, 2)}
        )
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Export a checkpoint and check parity."""
    p = argparse.ArgumentParser(prog="python -m pocketsr.model.export", description=__doc__)
    p.add_argument("checkpoint", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--name", default=None)
    p.add_argument("--version", default="0.1.0")
    p.add_argument("--description", default="")
    p.add_argument("--provenance", default="", help="training provenance (JSON or text)")
    p.add_argument(
        "--license",
        default="MIT (weights); trained on BSDS500 (research use) + scikit-image CC0 photos",
        help="the licence line shown with the model",
    )
    p.add_argument(
        "--partner", default="", help="the model whose weights mix with these by a strength"
    )
    p.add_argument(
        "--strength",
        type=float,
        default=None,
        help="where these weights sit on the strength axis (0 fidelity, 1 detail)",
    )
    p.add_argument(
        "--int8",
        action="store_true",
        help="write the static int8 (QDQ) model from a checkpoint made by model.qat",
    )
    args = p.parse_args(argv)
    if bool(args.partner) != (args.strength is not None):
        p.error("--partner and --strength go together")
    model, ck = load_checkpoint_model(args.checkpoint)
    if args.int8 and "quant" not in ck:
        p.error(
            f"{args.checkpoint} has no int8 ranges; make them first with "
            "python -m pocketsr.model.qat CHECKPOINT OUT.pt --data PHOTOS"
        )
    if not is_tile_safe(model):
        print(
            "warning: this network is not tile-safe (GroupNorm/attention remain)", file=sys.stderr
        )
    rf, rf_full = receptive_field(model)
    is_pocketsr = isinstance(model, PocketSR)
    default_name = model.cfg.name if is_pocketsr else "plain-baseline"
    meta = {
        "name": args.name or default_name,
        "scale": model.cfg.scale if is_pocketsr else model.scale,
        "in_channels": 3,
        "out_channels": 3,
        "size_multiple": model.cfg.size_multiple if is_pocketsr else 1,
        "receptive_field": rf,
        "receptive_field_full": rf_full,
        "version": args.version,
        "license": args.license,
        "description": args.description,
        "tile_safe": str(is_tile_safe(model)).lower(),
        "provenance": args.provenance or json.dumps({"stage": ck["stage"], "steps": ck["step"]}),
    }
    if args.partner:
        meta |= {"partner": args.partner, "strength": args.strength}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    if args.int8:
        return _export_int8(model, ck, args.output, meta, rf, rf_full)
    export_onnx(model, args.output, meta)
    if is_tile_safe(model):
        # The gradient estimate (influence above 1e-4 of the peak) is conservative: start
        # from half of it and let the tile-agreement check decide.
        rf = settle_receptive_field(args.output, rf // 2, rf_full)
    diff = parity(model, args.output)
    print(
        json.dumps({"output": str(args.output), "receptive_field": [rf, rf_full], "parity": diff})
    )
    return 0 if diff <= 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
