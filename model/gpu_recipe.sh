#!/usr/bin/env bash
# The GPU run that trained the shipped PocketSR-nano weights, with the ablations and the plain
# baseline beside it on the same GPU and data (see bench/QUALITY.md). Usage:
#   model/gpu_recipe.sh DATA_DIR OUT_DIR [MINUTES_SCALE]
# DATA_DIR holds the HR training photos; OUT_DIR receives the run folders.
set -u
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); K=${3:-1}
# shellcheck source=model/gpu_env.sh
source "$(dirname "$0")/gpu_env.sh"
m() { python3 -c "print($1*$K)"; }
train() { python3 -m pocketsr.model.train --data "$DATA" --steps 100000000 --batch 32 \
    --hr-crop 256 --pool-size 4000 "$@"; }
mkdir -p "$OUT"
(
  train --stage ae --minutes "$(m 0.8)" --workers 5 --out "$OUT/nano" &&
  train --stage teacher --minutes "$(m 2.2)" --workers 5 --out "$OUT/nano" &&
  train --stage prune --minutes "$(m 2.2)" --workers 5 --out "$OUT/nano" &&
  train --stage gan --minutes "$(m 1.3)" --workers 5 --out "$OUT/nano"
) > "$OUT/nano.log" 2>&1 &
# The plain residual baseline gets the wall time of ae + teacher + prune (= the fidelity model).
train --stage plain --minutes "$(m 5.2)" --workers 2 --out "$OUT/plain" > "$OUT/plain.log" 2>&1 &
# Ablations of the teacher stage, all without the autoencoder stage, equal wall time.
train --stage teacher --minutes "$(m 2.2)" --workers 2 --out "$OUT/abl_lrhalf" > "$OUT/abl_lrhalf.log" 2>&1 &
train --stage teacher --minutes "$(m 2.2)" --workers 2 --net latent_grid=upsample \
    --out "$OUT/abl_upsample" > "$OUT/abl_upsample.log" 2>&1 &
train --stage teacher --minutes "$(m 2.2)" --workers 2 --net fusion=false \
    --out "$OUT/abl_nofusion" > "$OUT/abl_nofusion.log" 2>&1 &
wait
