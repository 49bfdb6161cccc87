"""Strip a checkpoint to what export and evaluation need (EMA weights, net config, provenance)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch


def slim(src: Path, dst: Path) -> None:
    """Write the EMA-only copy of a checkpoint."""
    ck = torch.load(src, map_location="cpu", weights_only=False)
    keep = {k: ck[k] for k in ("stage", "step", "elapsed", "done", "pruned", "net", "ema")}
    keep["model"] = ck["ema"]
    torch.save(keep, dst)


if __name__ == "__main__":
    slim(Path(sys.argv[1]), Path(sys.argv[2]))
