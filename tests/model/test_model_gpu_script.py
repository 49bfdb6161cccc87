"""The GPU recipe script in its tiny CPU mode: every stage of the lineage, logged with rates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_recipe_tiny_mode_runs_the_whole_lineage(tmp_path, photos_dir):
    env = {**os.environ, "PYTHON": sys.executable}
    run = subprocess.run(
        ["bash", str(ROOT / "model" / "gpu_recipe.sh"), str(photos_dir), str(tmp_path), "0.01",
         "--tiny"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    for stage in ("teacher", "prune", "refine", "detail"):
        assert (tmp_path / "nano" / f"{stage}_final.pt").is_file(), stage
    records = [json.loads(x) for x in (tmp_path / "nano" / "log.jsonl").read_text().splitlines()]
    rates = [r["samples_per_s"] for r in records if "samples_per_s" in r]
    assert rates and all(r > 0 for r in rates)
    assert any(r["stage"] == "detail" and r.get("distill", 0) > 0 for r in records)
