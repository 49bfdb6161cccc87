"""Strip a checkpoint to what export and evaluation need (EMA weights, net config, provenance)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def slim(src: Path, dst: Path) -> None:
    """Write the EMA-only copy of a checkpoint."""
    ck = torch.load(src, map_location="cpu", weights_only=False)
    keep = {k: ck[k] for k in ("stage", "step", "elapsed", "done", "pruned", "net", "ema")}
    keep["model"] = ck["ema"]
    torch.save(keep, dst)


def main(argv: list[str] | None = None) -> int:
    """python -m pocketsr.model.slim CHECKPOINT OUT"""
    p = argparse.ArgumentParser(prog="python -m pocketsr.model.slim", description=__doc__)
    p.add_argument("checkpoint", type=Path, help="a training checkpoint (stage.pt or _final.pt)")
    p.add_argument("output", type=Path, help="where the slim copy goes")
    args = p.parse_args(argv)
    slim(args.checkpoint, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
