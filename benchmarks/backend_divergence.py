"""Where MuJoCo Warp and the native backend part, and why: compared with native runs that are
nudged, or whose constraint solver stops earlier.

    python benchmarks/backend_divergence.py                 # seeds 1 2 3, 25 env steps
    python benchmarks/backend_divergence.py --seeds 2 --steps 10

Every run starts from the same GSI start state of ``SmpSteeringG1-v0`` (2 envs) and gets the
same random actions (scale 0.3); every call that draws from torch's global generator is made
from the same generator state on all runs (as in tests/sim/test_backend_parity.py). Printed per
env step: the largest root-position (m) and joint-position (rad) difference of each run from the
reference native run:

- ``warp``: MuJoCo Warp (float32 kernels);
- ``nudged``: native, joints nudged by N(0, 1e-6) rad after the reset (is the motion chaotic
  enough that a float32-sized difference grows on its own?);
- ``tol 1e-6`` / ``tol 1e-4``: native with MuJoCo's solver tolerance loosened from mjlab's 1e-8
  from the first step on (does stopping the constraint solver earlier part the runs the way
  Warp does?).
"""

from __future__ import annotations

import dataclasses

import gymnasium
import torch
import tyro

import smp_gym  # noqa: F401  (registers the ids)

RUNS = ("warp", "nudged", "tol 1e-6", "tol 1e-4")


@dataclasses.dataclass
class Args:
    seeds: tuple[int, ...] = (1, 2, 3)
    """Action seeds (one trajectory each)."""
    steps: int = 25
    nudge: float = 1e-6
    """Standard deviation of the joint nudge, rad."""
    every: int = 1
    """Print every this many env steps (and the last)."""


def make(backend: str):
    return gymnasium.make_vec(
        "SmpSteeringG1-v0", num_envs=2, device="cpu", backend=backend, seed=0,
        gsi={"pool_size": 64, "batch_size": 64},
    )  # fmt: skip


def lockstep(envs: dict, fn) -> None:
    """``fn(env)`` for every env, each from the same state of torch's global generator."""
    state = torch.get_rng_state()
    for env in envs.values():
        torch.set_rng_state(state)
        fn(env)


def trajectory(args: Args, seed: int) -> list[dict[str, tuple[float, float]]]:
    """Per env step: {run: (max root diff m, max joint diff rad)} against the native run."""
    envs = {run: make("warp" if run == "warp" else "native") for run in ("native", *RUNS)}
    lockstep(envs, lambda e: e.reset(seed=0))
    qpos = {run: env.unwrapped.sim.sim.data.qpos for run, env in envs.items()}
    nudge = torch.randn(qpos["nudged"][:, 7:].shape, generator=torch.Generator().manual_seed(seed))
    qpos["nudged"][:, 7:] += args.nudge * nudge
    gen, rows = torch.Generator().manual_seed(seed), []
    for t in range(args.steps):
        action = 0.3 * torch.randn(2, 29, generator=gen)
        lockstep(envs, lambda e, a=action: e.step(a))
        if t == 0:  # the native threads' models exist once the first step has run
            for run in ("tol 1e-6", "tol 1e-4"):
                for model, *_ in envs[run].unwrapped.sim.sim._threads:
                    model.opt.tolerance = float(run.split()[1])
        ref = qpos["native"]
        rows.append({
            run: ((qpos[run][:, :3] - ref[:, :3]).abs().max().item(),
                  (qpos[run][:, 7:] - ref[:, 7:]).abs().max().item())
            for run in RUNS
        })  # fmt: skip
    for env in envs.values():
        env.close()
    return rows


def main(args: Args) -> None:
    head = " | ".join(f"{run} root m | {run} joint rad" for run in RUNS)
    print(f"| seed | env step | {head} |")
    print("|---" * (2 + 2 * len(RUNS)) + "|", flush=True)
    for seed in args.seeds:
        rows = trajectory(args, seed)
        for t, row in enumerate(rows):
            if (t + 1) % args.every == 0 or t == len(rows) - 1:
                cells = " | ".join(f"{r:.1e} | {j:.1e}" for r, j in row.values())
                print(f"| {seed} | {t + 1} | {cells} |", flush=True)
        peak = {run: tuple(max(row[run][i] for row in rows) for i in (0, 1)) for run in RUNS}
        print(
            f"seed {seed}, largest over {len(rows)} steps: "
            + ", ".join(f"{run} {r:.1e} m / {j:.1e} rad" for run, (r, j) in peak.items()),
            flush=True,
        )


if __name__ == "__main__":
    main(tyro.cli(Args))
