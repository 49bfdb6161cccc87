#!/usr/bin/env bash
# The long CPU run that trains the shipped PocketSR-nano weights on ONE core, in the background,
# resumable: run it again with the same OUT_DIR and every stage continues from its checkpoint
# (finished stages are skipped). Usage:
#   [RECIPE=nano_stack] model/cpu_recipe.sh DATA_DIR OUT_DIR [MINUTES_SCALE]
# RECIPE names model/configs/RECIPE.toml (default nano, the shipped shape).
# Stages of RECIPE=nano (for nano_stack see below):
#   teacher 15 (heavy GroupNorm/attention UNet) -> prune 20 (annealing + feature distillation)
#   -> refine 55 (the fidelity weights: ground truth, clean/mild-heavy mix)
#   -> detail 50 (the default weights: Real-ESRGAN x4plus's outputs from the teacher-pair cache,
#      warm-started from refine so that the two interpolate), when the cache exists
#   -> mixes 95 (refine continued in OUT_DIR/mixes with the detail weights as its frozen
#      strength partner: half the steps train a mix at a random strength; model/mixing.py).
set -u
DATA=$(realpath "$1"); OUT=$(realpath -m "$2"); K=${3:-1}
PY=${PYTHON:-python3}
RECIPE=${RECIPE:-nano}
m() { "$PY" -c "print($1*$K)"; }
train() { OMP_NUM_THREADS=1 nice -n 5 "$PY" -m pocketsr.model.train --recipe "$RECIPE" --data "$DATA" \
    --steps 100000000 --threads 1 --out "$OUT" "$@"; }
#
# RECIPE=nano_stack runs the stack shape's CPU lineage instead (docs/ARCHITECTURE.md: on one
# core the heavy teacher and the prune stage cost about 0.6 dB at equal time, so the pruned
# student starts from scratch): scratch 90 (cosine, lr 2e-3, 20 / 50 / 30 % clean / mild /
# heavy) -> detail 40 (x4plus from the cache, lr 3e-4) -> detail 30 more in OUT_DIR/default
# with a patch discriminator (0.005) and the grid term, lr 1e-4 (the default weights; stage
# gan would train toward the ground truth, not the teacher) -> refine 45 in OUT_DIR/fidelity
# from scratch's weights (the fidelity end, 10 / 40 / 50 %, lr 3e-4, half its steps on the
# mixes with the default as its partner).
mkdir -p "$OUT"
if [ "$RECIPE" = nano_stack ]; then
    C=${POCKETSR_TEACHER_CACHE:?RECIPE=nano_stack needs POCKETSR_TEACHER_CACHE (model/teacher_cache.py)}
    train --stage scratch --minutes "$(m 90)" &&
        train --stage detail --minutes "$(m 40)" --teacher-cache "$C" --init "$OUT/scratch_final.pt" \
            --set lr=3e-4 &&
        train --stage detail --minutes "$(m 30)" --teacher-cache "$C" --out "$OUT/default" \
            --init "$OUT/detail_final.pt" --set lr=1e-4 --set gan=0.005 --set disc=patch \
            --set grid=500 &&
        train --stage refine --minutes "$(m 45)" --teacher-cache "$C" --out "$OUT/fidelity" \
            --init "$OUT/scratch_final.pt" --partner "$OUT/default/detail_final.pt" --set lr=3e-4 \
            --set mix=0.5 --set grid=500 --set clean_fraction=0.1 --set mild_fraction=0.4
    exit
fi
train --stage teacher --minutes "$(m 15)" &&
train --stage prune --minutes "$(m 20)" &&
train --stage refine --minutes "$(m 55)" &&
if [ -n "${POCKETSR_TEACHER_CACHE:-}" ]; then
    train --stage detail --minutes "$(m 50)" --teacher-cache "$POCKETSR_TEACHER_CACHE" &&
    train --stage refine --minutes "$(m 95)" --teacher-cache "$POCKETSR_TEACHER_CACHE" \
        --out "$OUT/mixes" --init "$OUT/refine_final.pt" --partner "$OUT/detail_final.pt" \
        --set mix=0.5 --set grid=500 --set clean_fraction=0.1 --set mild_fraction=0.4
fi
