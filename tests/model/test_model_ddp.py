"""Two CPU processes under torchrun (gloo) train the same weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from model_world import train_args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_ranks_agree_bit_for_bit(tmp_path, tiny_recipe, photos_dir):
    out = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        "-m",
        "pocketsr.model.train",
        *train_args(tiny_recipe, photos_dir, out, "teacher", "--threads", "1"),
    ]
    env = os.environ | {"POCKETSR_DDP_CHECK": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((out / f"param_checksum_rank{r}.txt").read_text()) for r in (0, 1)]
    assert ranks[0]["step"] == ranks[1]["step"] == 3
    # Each rank seeds its own init and draws its own crops: only DDP makes them agree.
    assert ranks[0]["model"] == ranks[1]["model"]
    assert ranks[0]["ema"] == ranks[1]["ema"]
    assert (out / "teacher_final.pt").is_file()
