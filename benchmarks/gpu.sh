#!/usr/bin/env bash
# GPU benchmark in one command: env-steps/s of raw mjlab vs SmpVectorEnv from 1024 to 16384 envs
# (peak GPU memory included) and prior pretraining throughput. Writes JSON next to this script.
#   bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
smp-gym bench --task SmpSteeringG1-v0 --device cuda --num-envs 1024 4096 8192 16384 \
    --steps 200 --warmup 50 --repeats 3 --out benchmarks/gpu_env.json
python benchmarks/pretrain_throughput.py --device cuda --out benchmarks/gpu_pretrain.json
