"""Before/after env throughput in ONE process, in turns: SmpVectorEnv of another smp_gym source
tree (``--old``, e.g. ``git archive <commit> | tar -x -C /tmp/old``) vs this checkout's.

Both envs are built first (the old tree's ``smp_gym`` is imported from ``--old``, then dropped
from ``sys.modules`` and this checkout's imported; each env keeps its own modules), warmed up,
then timed ``--steps`` steps each, alternating, ``--rounds`` times, so a slow spell of a shared
machine hits both. Prints env-steps/s per round (wall clock, or ``--clock cpu``: this process's
CPU time, steadier when other processes share the cores), the medians, new/old and the median
of the per-round ratios; ``--out`` writes JSON.

    OMP_NUM_THREADS=1 python benchmarks/ab_throughput.py --old /tmp/old --num-envs 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def _import_smp_gym(root: str | None):
    """Import smp_gym from ``root`` (None: the installed checkout), dropping any loaded one."""
    for name in [m for m in sys.modules if m == "smp_gym" or m.startswith("smp_gym.")]:
        del sys.modules[name]
    if root is not None:
        sys.path.insert(0, root)
    try:
        import gymnasium

        import smp_gym
        import smp_gym.make

        return smp_gym, smp_gym.make.make_vec, gymnasium
    finally:
        if root is not None:
            sys.path.remove(root)


def _build(root, args):
    pkg, make_vec, _ = _import_smp_gym(root)
    env = make_vec(
        args.task,
        num_envs=args.num_envs,
        device="cpu",
        seed=0,
        gsi={"pool_size": 256},
        compile_prior=args.compile_prior,
    )
    print(f"built {env.unwrapped!r} from {Path(pkg.__file__).parent}", flush=True)
    return env


def _time(env, steps: int, generator, clock) -> float:
    import torch

    dim = env.single_action_space.shape[0]
    t = clock()
    for _ in range(steps):
        env.step(0.3 * torch.randn(env.num_envs, dim, generator=generator))
    return steps * env.num_envs / (clock() - t)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", required=True, help="source tree of the smp_gym version to compare")
    p.add_argument("--task", default="SmpSteeringG1-v0")
    p.add_argument("--num-envs", type=int, default=64)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--compile-prior", action="store_true")
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: perf_counter; cpu: this process's CPU time (steadier on a shared machine)",
    )
    p.add_argument("--out", default=None)
    args = p.parse_args()
    clock = time.perf_counter if args.clock == "wall" else time.process_time

    import torch

    envs = {"old": _build(args.old, args), "new": _build(None, args)}
    gens = {k: torch.Generator().manual_seed(0) for k in envs}
    for name, env in envs.items():
        env.reset(seed=0)
        _time(env, args.warmup, gens[name], clock)
    rates: dict[str, list[float]] = {k: [] for k in envs}
    for r in range(args.rounds):
        for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
            rates[name].append(_time(envs[name], args.steps, gens[name], clock))
        print(f"round {r}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rates.items()), flush=True)
    med = {k: statistics.median(v) for k, v in rates.items()}
    result = {
        "task": args.task,
        "num_envs": args.num_envs,
        "steps_per_turn": args.steps,
        "rounds": args.rounds,
        "compile_prior": args.compile_prior,
        "clock": args.clock,
        "env_steps_per_s": rates,
        "median": med,
        "new_over_old": med["new"] / med["old"],
        "per_round_ratio_median": statistics.median(
            n / o for n, o in zip(rates["new"], rates["old"], strict=True)
        ),
    }
    keys = ("median", "new_over_old", "per_round_ratio_median")
    print(json.dumps({k: result[k] for k in keys}, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2))
    for env in envs.values():
        env.close()


if __name__ == "__main__":
    main()
