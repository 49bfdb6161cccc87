#!/usr/bin/env bash
# The equal-budget comparison of docs/ARCHITECTURE.md: networks of about the same MACs per LR
# pixel, each trained from scratch by the same loop (train.py's `scratch`/`plain` stages: L1 to
# ground truth, the fidelity data mix, Adam with cosine decay) for the same wall time on ONE
# CPU thread, one after the other, then exported for bench/quality.py:
#   nano        the UNet shape (LR-grid latent, dense light blocks, bicubic base), recipe nano
#   nano-v0     the first UNet shape (8-channel latent on LR/2, depthwise blocks, bilinear)
#   plain       13 hidden 48-channel 3x3 convs, pixel shuffle, residual over bicubic (baseline.py)
#   stack       the stack shape's pruned student (model/stack.py), recipe nano_stack (Kaiming
#               start, 2e-3)
#   plain-stack the plain net by the nano_stack recipe's plain stage (the same start and rate)
#   stack-half  the two-level stack: its 4 middle blocks on LR/2 at 88 wide (the same MACs)
# RUNS picks some of them (default: "nano nano-v0 plain"); INIT=kaiming gives the first three
# the variance-preserving start (`--net init=kaiming`; bench/QUALITY.md has both starts).
# Usage: [RUNS="stack plain-stack"] bench/equal_budget.sh DATA_DIR OUT_DIR [MINUTES]
#   (then: python -m bench.quality --methods bicubic OUT_DIR/stack.onnx ...)
set -eu
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); MIN=${3:-12}
PY=${PYTHON:-python3}
V0='--net latent_grid=lr_half --net latent_channels=8 --net enc_channels=[32,48]
 --net dec_channels=[64,64] --net dec_blocks=3 --net unet_channels=[48,96]
 --net light_kind=dw --net base_upsample=bilinear'
train() { OMP_NUM_THREADS=1 "$PY" -m pocketsr.model.train --data "$DATA" \
    --steps 100000000 --threads 1 --minutes "$MIN" "$@"; }
nano() { train --recipe nano --net "init=${INIT:-default}" "$@"; }
mkdir -p "$OUT"
for run in ${RUNS:-nano nano-v0 plain}; do
    case $run in
    nano) nano --stage scratch --out "$OUT/nano"; stage=scratch ;;
    # shellcheck disable=SC2086
    nano-v0) nano --stage scratch --out "$OUT/nano-v0" $V0; stage=scratch ;;
    plain) nano --stage plain --out "$OUT/plain"; stage=plain ;;
    stack) train --recipe nano_stack --stage scratch --out "$OUT/stack"; stage=scratch ;;
    plain-stack) train --recipe nano_stack --stage plain --out "$OUT/plain-stack"; stage=plain ;;
    stack-half)
        train --recipe nano_stack --stage scratch --out "$OUT/stack-half" \
            --net half_blocks=4 --net half_channels=88
        stage=scratch
        ;;
    *) echo "equal_budget.sh: unknown run $run" >&2; exit 2 ;;
    esac
    "$PY" -m pocketsr.model.export "$OUT/$run/${stage}_final.pt" "$OUT/$run.onnx" --name "$run"
done
