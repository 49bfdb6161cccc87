#!/usr/bin/env bash
# The equal-budget comparison of docs/ARCHITECTURE.md: three networks of about the same MACs
# per LR pixel, each trained from scratch by the same loop (train.py's `scratch`/`plain`
# stages: L1 to ground truth, the fidelity data mix, Adam with cosine decay) for the same wall
# time on ONE CPU thread, one after the other, then exported for bench/quality.py:
#   nano     the shipped architecture (LR-grid latent, dense light blocks, bicubic base)
#   nano-v0  the previous architecture (8-channel latent on LR/2, depthwise blocks, bilinear)
#   plain    13 hidden 48-channel 3x3 convs, pixel shuffle, residual over bicubic (baseline.py)
# INIT=kaiming in the environment gives every network the variance-preserving start
# (`--net init=kaiming`; bench/QUALITY.md has both starts).
# Usage: bench/equal_budget.sh DATA_DIR OUT_DIR [MINUTES]   (then: python -m bench.quality
#   --methods bicubic OUT_DIR/nano.onnx OUT_DIR/nano-v0.onnx OUT_DIR/plain.onnx ...)
set -eu
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); MIN=${3:-12}
PY=${PYTHON:-python3}
V0='--net latent_grid=lr_half --net latent_channels=8 --net enc_channels=[32,48]
 --net dec_channels=[64,64] --net dec_blocks=3 --net unet_channels=[48,96]
 --net light_kind=dw --net base_upsample=bilinear'
train() { OMP_NUM_THREADS=1 "$PY" -m pocketsr.model.train --recipe nano --data "$DATA" \
    --steps 100000000 --threads 1 --minutes "$MIN" --net "init=${INIT:-default}" "$@"; }
mkdir -p "$OUT"
train --stage scratch --out "$OUT/nano"
# shellcheck disable=SC2086
train --stage scratch --out "$OUT/nano-v0" $V0
train --stage plain --out "$OUT/plain"
for run in nano nano-v0; do
    "$PY" -m pocketsr.model.export "$OUT/$run/scratch_final.pt" "$OUT/$run.onnx" --name "$run"
done
"$PY" -m pocketsr.model.export "$OUT/plain/plain_final.pt" "$OUT/plain.onnx" --name plain
