"""Env-steps/s of one task in the three Gymnasium autoreset modes, in one process.

    python benchmarks/autoreset_modes.py                     # 64 envs on the CPU
    python benchmarks/autoreset_modes.py --num-envs 4096 --device cuda --out modes.json

The three envs take turns within every repeat (the order rotates from one repeat to the next),
so a slow spell of a shared machine hits all three and the ratios hold; the rate is the median
over repeats. Each loop is what a user writes: SAME_STEP and NEXT_STEP just step; DISABLED steps
and then resets the ended envs with ``reset(options={"reset_mask": done})`` (like
``gymnasium.utils.performance.benchmark_vector_step``). ``env-steps/s`` counts every sub-env of
every ``step()`` call; ``transitions/s`` leaves out NEXT_STEP's reset steps (the step after an
end, which returns the first observation and no transition).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import time
from pathlib import Path

import gymnasium
import torch
import tyro
from gymnasium.vector import AutoresetMode

import smp_gym  # noqa: F401  (registers the ids)
from smp_gym.tools.bench import machine


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    num_envs: int = 64
    steps: int = 100
    """Timed steps per mode per repeat."""
    warmup: int = 20
    repeats: int = 5
    episode_length_s: float | None = None
    """Shorter episodes make resets (where the modes differ) more frequent. None: the task's own."""
    device: str = "cpu"
    seed: int = 0
    out: Path | None = None
    """Also write the results as JSON."""


def make_stepper(env, mode: AutoresetMode):
    """One step of the user's loop in MODE; returns the number of NEXT_STEP reset steps (a tensor)."""
    state = {"prev_done": torch.zeros(env.num_envs, dtype=torch.bool, device=env.unwrapped.device)}

    def step(actions: torch.Tensor) -> torch.Tensor:
        _, _, terminated, truncated, _ = env.step(actions)
        done = terminated | truncated
        resets = state["prev_done"].sum()
        if mode is AutoresetMode.NEXT_STEP:
            state["prev_done"] = done
        elif mode is AutoresetMode.DISABLED and bool(done.any()):
            env.reset(options={"reset_mask": done})
        return resets

    return step


def run(args: Args) -> dict:
    from smp_gym.device import resolve_device

    device = resolve_device(args.device)
    overrides = {} if args.episode_length_s is None else {"episode_length_s": args.episode_length_s}
    modes = [AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED]
    envs = {
        m: gymnasium.make_vec(
            args.task,
            num_envs=args.num_envs,
            device=device,
            seed=args.seed,
            autoreset_mode=m,
            **overrides,
        )
        for m in modes
    }
    steppers = {}
    for m, env in envs.items():
        env.reset(seed=args.seed)
        steppers[m] = make_stepper(env, m)
    dim = envs[modes[0]].single_action_space.shape[0]
    g = torch.Generator().manual_seed(args.seed)
    acts = [(0.3 * torch.randn(args.num_envs, dim, generator=g)).to(device) for _ in range(16)]
    for m in modes:
        for i in range(args.warmup):
            steppers[m](acts[i % 16])
    rates: dict = {m: [] for m in modes}
    transitions: dict = {m: [] for m in modes}
    for r in range(args.repeats):
        for m in modes[r % 3 :] + modes[: r % 3]:  # rotate the order: no mode always goes first
            resets = torch.zeros((), device=device, dtype=torch.long)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            for i in range(args.steps):
                resets += steppers[m](acts[i % 16])
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            dt = time.perf_counter() - t0
            rates[m].append(args.num_envs * args.steps / dt)
            transitions[m].append((args.num_envs * args.steps - int(resets)) / dt)
    for env in envs.values():
        env.close()
    same = statistics.median(rates[AutoresetMode.SAME_STEP])
    rows = {
        m.value: {
            "env_steps_per_s": statistics.median(rates[m]),
            "transitions_per_s": statistics.median(transitions[m]),
            "ratio_to_same_step": statistics.median(rates[m]) / same,
        }
        for m in modes
    }
    return {
        "args": {**dataclasses.asdict(args), "out": str(args.out)},
        "device": str(device),
        "machine": machine(),
        "modes": rows,
    }


def main(args: Args) -> None:
    result = run(args)
    print(
        f"{args.task}, {args.num_envs} envs on {result['device']}: median of {args.repeats} x {args.steps} steps"
    )
    print(f"{'mode':<10} {'env-steps/s':>12} {'transitions/s':>14} {'vs SameStep':>12}")
    for mode, row in result["modes"].items():
        print(
            f"{mode:<10} {row['env_steps_per_s']:>12,.0f} {row['transitions_per_s']:>14,.0f} "
            f"{row['ratio_to_same_step']:>12.3f}"
        )
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(tyro.cli(Args))
