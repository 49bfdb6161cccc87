#!/usr/bin/env bash
# Second GPU run of the shipped weights: continues a finished prune stage with the refine stage
# (fidelity weights) and a fresh adversarial stage (detail weights). Usage:
#   model/gpu_refine.sh DATA_DIR RUN_DIR REFINE_MINUTES GAN_MINUTES
# RUN_DIR must hold ae_final.pt and prune_final.pt (slim copies are enough).
set -eu
DATA=$(realpath "$1"); RUN=$(realpath "$2"); R=$3; G=$4
# shellcheck source=model/gpu_env.sh
source "$(dirname "$0")/gpu_env.sh"
for stage in refine gan; do
    minutes=$R; [ "$stage" = gan ] && minutes=$G
    python3 -m pocketsr.model.train --data "$DATA" --out "$RUN" --stage "$stage" \
        --steps 100000000 --minutes "$minutes" --batch 32 --hr-crop 256 --pool-size 4000 \
        --workers 14
    python3 "$ROOT/model/slim.py" "$RUN/${stage}_final.pt" "$RUN/${stage}_slim.pt"
done
