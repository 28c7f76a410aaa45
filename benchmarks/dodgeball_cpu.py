"""Dodgeball vs Steering env-steps/s on the CPU, timed in turns within every repeat.

``smp-gym bench``'s throughput harness (``smp_gym.bench._throughput``: 20 warm-up steps, 100
timed steps of random actions, median of 3 repeats) with the four envs of one size -- raw mjlab
and ``SmpVectorEnv`` of each task -- taking turns, so a slow spell of the shared machine hits all
of them. Usage: ``python benchmarks/dodgeball_cpu.py docs/bench_dodgeball_cpu.json``.
"""

from __future__ import annotations

import json
import sys

import gymnasium
import torch

import smp_gym  # noqa: F401
from smp_gym.tools.bench import _throughput, machine, raw_env

TASKS = ("SmpSteeringG1-v0", "SmpDodgeballG1-v0")


def main(out: str, sizes=(16, 64), steps: int = 100, warmup: int = 20, repeats: int = 3) -> dict:
    cpu = torch.device("cpu")
    result = {
        "machine": machine(),
        "steps": steps,
        "warmup": warmup,
        "repeats": repeats,
        "rows": [],
    }
    for n in sizes:
        envs, steppers = [], {}
        for task in TASKS:
            raw = raw_env(task, n, cpu)
            raw.reset()
            env = gymnasium.make_vec(task, num_envs=n, device=cpu, seed=0, validate_actions=False)
            env.reset(seed=0)
            envs += [raw, env]
            steppers[f"{task} raw"], steppers[task] = raw.step, env.step
        rates, worst = _throughput(steppers, n, 29, cpu, steps, warmup, repeats)
        row = {
            "num_envs": n,
            "steps_per_s": rates,
            "worst_step_ms": {k: 1000 * v for k, v in worst.items()},
        }
        result["rows"].append(row)
        print(json.dumps(row, indent=2), flush=True)
        for env in envs:
            env.close()
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main(sys.argv[1])
