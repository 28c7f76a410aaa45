"""MuJoCo Warp vs the native backend (MuJoCo C) on the CPU: raw physics and the full env step.

    python benchmarks/backends.py                                 # 16/64/256 envs, 1 and 2 threads
    python benchmarks/backends.py --num-envs 64 --out docs/bench_backends_cpu.json

For each env count, one Warp env and one native env (same task, seed and settings) are built;
within every repeat the configurations take turns (warp, native x 1 thread, native x 2
threads; the order rotates), so a slow spell of a shared machine hits all of them and the
ratios hold. Rates are medians over repeats.

- ``physics``: ``decimation`` x ``sim.step()`` of the mjlab simulation alone (one env step of
  physics; the native one includes carrying the state in and out of the torch tensors).
- ``env step``: ``SmpVectorEnv.step`` with random actions (task layer, SMP reward, resets).

``env-steps/s`` counts every sub-env. The load average (``uptime``) is recorded before and after:
compare only ratios measured in one run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import time
from pathlib import Path

import gymnasium
import torch
import tyro

import smp_gym  # noqa: F401  (registers the ids)
from smp_gym.tools.bench import machine


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    num_envs: tuple[int, ...] = (16, 64, 256)
    threads: tuple[int, ...] = (1, 2)
    """Native thread counts to measure."""
    steps: int = 10
    """Timed env steps per configuration per repeat."""
    warmup: int = 3
    repeats: int = 3
    seed: int = 0
    gsi_pool: int = 64
    """GSI pool size of both envs (small: building it is not what is measured)."""
    out: Path | None = None
    """Also write the results as JSON."""


def _rate(fn, n: int, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        fn()
    return n * steps / (time.perf_counter() - t)


def bench_count(args: Args, n: int) -> dict:
    """Medians of env-steps/s per configuration at ``n`` envs."""
    common = dict(num_envs=n, device="cpu", seed=args.seed, gsi={"pool_size": args.gsi_pool})
    envs = {"warp": gymnasium.make_vec(args.task, backend="warp", **common)}
    native = gymnasium.make_vec(
        args.task, backend="native", num_threads=max(args.threads), **common
    )
    gen = torch.Generator().manual_seed(args.seed)
    dim = envs["warp"].single_action_space.shape[0]
    configs = {"warp": (envs["warp"], None)}
    configs.update({f"native x{k}": (native, k) for k in args.threads})
    for env in (envs["warp"], native):
        env.reset(seed=args.seed)

    def physics(env) -> None:
        sim = env.unwrapped.sim
        for _ in range(sim.cfg.decimation):
            sim.sim.step()

    def env_step(env) -> None:
        env.step(0.3 * torch.randn(n, dim, generator=gen))

    rates = {(c, kind): [] for c in configs for kind in ("physics", "env step")}
    names = list(configs)
    for r in range(args.repeats):
        for c in names[r % len(names) :] + names[: r % len(names)]:
            env, k = configs[c]
            if k is not None:
                env.unwrapped.sim.sim.set_num_threads(k)
            for kind, fn in (("physics", physics), ("env step", env_step)):
                _rate(lambda e=env, f=fn: f(e), n, args.warmup if r == 0 else 1)
                rates[(c, kind)].append(_rate(lambda e=env, f=fn: f(e), n, args.steps))
    for env in (envs["warp"], native):
        env.close()
    return {f"{c} | {kind}": statistics.median(v) for (c, kind), v in rates.items()}


def main(args: Args) -> dict:
    result = {"machine": machine(), "load_before": os.getloadavg(), "task": args.task, "runs": {}}
    print("| envs | measure | warp env-steps/s | native threads | native env-steps/s | ratio |")
    print("|---|---|---|---|---|---|", flush=True)
    for n in args.num_envs:  # rows and JSON after each count: a long run keeps what it measured
        med = bench_count(args, n)
        result["runs"][n] = med
        for kind in ("physics", "env step"):
            warp = med[f"warp | {kind}"]
            for k in args.threads:
                nat = med[f"native x{k} | {kind}"]
                print(f"| {n} | {kind} | {warp:.0f} | {k} | {nat:.0f} | {nat / warp:.1f}x |")
        result["load_after"] = os.getloadavg()
        print(
            f"load average before {result['load_before']}, now {result['load_after']}", flush=True
        )
        if args.out:
            args.out.write_text(json.dumps(result, indent=1) + "\n")
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
