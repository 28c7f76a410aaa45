"""Soak test: many steps at a few envs on CPU; resident memory, reward normalizer and GSI
refresh over time, and every buffer's size, recorded as JSON (and a plot).

    python benchmarks/soak.py --steps 20000 --num-envs 8 --out docs/soak.json --plot docs/soak.png
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import gymnasium
import psutil
import torch
import tyro
from tqdm import tqdm

import smp_gym  # noqa: F401


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    steps: int = 20_000
    num_envs: int = 8
    every: int = 500
    """Record a sample every this many steps."""
    gsi_pool_size: int = 256
    refresh_interval: int = 2400
    seed: int = 0
    out: Path = Path("soak.json")
    plot: Path | None = None


def buffer_bytes(env) -> dict[str, int]:
    u = env.unwrapped
    sizes = {
        "window": u.window._buf.numel(),
        "gsi_pool": u.gsi.pool.numel(),
        "normalizer": u.reward.normalizer.mean.numel() + u.reward.normalizer.count.numel(),
        "episode_stats": sum(
            b.numel() for b in (*u.episodes.sums.values(), *u.episodes.values.values())
        ),
    }
    return sizes


def main(args: Args) -> dict:
    proc = psutil.Process()
    env = gymnasium.make_vec(
        args.task,
        num_envs=args.num_envs,
        device="cpu",
        seed=args.seed,
        gsi={
            "pool_size": args.gsi_pool_size,
            "batch_size": args.gsi_pool_size,
            "refresh_interval": args.refresh_interval,
        },
    )
    u = env.unwrapped
    env.reset(seed=args.seed)
    g = torch.Generator().manual_seed(args.seed)
    samples, t0, episodes = [], time.perf_counter(), 0
    sizes0 = None  # taken after the first step, which allocates the per-task metric sums once
    for step in tqdm(range(1, args.steps + 1), desc="soak", unit="step", mininterval=5.0):
        _, _, terminated, truncated, _ = env.step(0.3 * torch.randn(args.num_envs, 29, generator=g))
        episodes += int((terminated | truncated).sum())
        if step == 1:
            sizes0 = buffer_bytes(env)
        if step % args.every == 0 or step == 1:
            samples.append(
                {
                    "step": step,
                    "rss_mib": proc.memory_info().rss / 2**20,
                    "seconds": time.perf_counter() - t0,
                    "episodes": episodes,
                    "normalizer_mean": u.reward.normalizer.mean.tolist(),
                    "normalizer_count": u.reward.normalizer.count.tolist(),
                    "gsi_refreshes": u.gsi.refreshes,
                    "gsi_head": u.gsi.head,
                }
            )
            if buffer_bytes(env) != sizes0:
                raise AssertionError(
                    f"a buffer changed size at step {step}: {buffer_bytes(env)} vs {sizes0}"
                )
    env.close()
    warm = next(s for s in samples if s["step"] >= min(2000, args.steps))
    result = {
        "args": {k: str(v) for k, v in dataclasses.asdict(args).items()},
        "buffer_elements": sizes0,
        "rss_start_mib": samples[0]["rss_mib"],
        "rss_after_warmup_mib": warm["rss_mib"],
        "rss_end_mib": samples[-1]["rss_mib"],
        "env_steps_per_s": args.steps * args.num_envs / samples[-1]["seconds"],
        "episodes": episodes,
        "gsi_refreshes": samples[-1]["gsi_refreshes"],
        "expected_gsi_refreshes": u.gsi.expected_refreshes(args.steps),
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    if args.plot is not None:
        plot(result, args.plot)
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    if result["gsi_refreshes"] != result["expected_gsi_refreshes"]:
        raise AssertionError(
            f"GSI pool refreshed {result['gsi_refreshes']} times, expected "
            f"{result['expected_gsi_refreshes']}"
        )
    return result


def plot(result: dict, path: Path) -> None:
    from smp_gym.tools.figures import pyplot, save_figure

    plt = pyplot()

    s = result["samples"]
    steps = [x["step"] for x in s]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.2))
    ax[0].plot(steps, [x["rss_mib"] for x in s])
    ax[0].set(title="resident memory", xlabel="env step", ylabel="MiB")
    for k in range(len(s[0]["normalizer_mean"])):
        ax[1].plot(steps, [x["normalizer_mean"][k] for x in s], label=f"t_{k}")
    ax[1].set(title="SDS normalizer running mean", xlabel="env step")
    ax[1].legend(fontsize=7)
    ax[2].step(steps, [x["gsi_refreshes"] for x in s], where="post")
    ax[2].set(title="GSI pool refreshes", xlabel="env step")
    save_figure(fig, path)


if __name__ == "__main__":
    main(tyro.cli(Args))
