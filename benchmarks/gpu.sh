#!/usr/bin/env bash
# The GPU session, in order (run from anywhere; writes JSON next to this script):
#   1. benchmarks/gpu_probe.py (<= 8 min on one H100-class GPU): CUDA graphs and the compiled
#      prior in use, first steps and 100 steps at 4096 / 16384 envs (SMP and raw mjlab), host
#      syncs per step by source line, peak memory (Warp's pool included), state_dict round trip,
#      Dodgeball / NextStep / Disabled -> gpu_probe.json. Stop here if it fails.
#   2. the sweep, one process and one 10-minute bound per size (inside `smp-gym bench`,
#      torch.compiler.reset() also runs between sizes), then pretraining throughput.
#   bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python benchmarks/gpu_probe.py --out benchmarks/gpu_probe.json
for n in 1024 4096 8192 16384; do
    timeout 600 smp-gym bench --task SmpSteeringG1-v0 --device cuda --num-envs "$n" \
        --steps 200 --warmup 50 --repeats 3 --out "benchmarks/gpu_env_$n.json"
done
timeout 600 python benchmarks/pretrain_throughput.py --device cuda --out benchmarks/gpu_pretrain.json
