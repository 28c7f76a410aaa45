"""``smp-gym bench``: env-steps/s of the raw mjlab task (a) vs SmpVectorEnv (b), b/a, and where
SmpVectorEnv's step time goes. One process, one run; warm-up excluded; medians over repeats.

Throughput is measured without instrumentation; the time split comes from a second, timed pass
(wrapping each stage, with ``torch.cuda.synchronize`` on GPU).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections import defaultdict
from pathlib import Path

import torch

STAGES = (
    "physics+task",
    "frame+window",
    "features",
    "prior forward",
    "normalizer+reward",
    "gsi+resets",
    "other",
)


def release(device: torch.device) -> None:
    """Between two sizes: drop the compiled prior (``torch.compiler.reset()`` also frees the
    CUDA-graph pool of torch.compile's reduce-overhead mode), collect the envs (Warp returns
    their arrays and graphs to its pool) and hand cached blocks back, so the next row neither
    recompiles on top of the last nor counts its memory."""
    import gc

    gc.collect()
    torch.compiler.reset()
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _actions(n: int, dim: int, device, g: torch.Generator) -> torch.Tensor:
    return (0.3 * torch.randn(n, dim, generator=g)).to(device)


def raw_env(
    task: str,
    num_envs: int,
    device: torch.device,
    backend: str = "warp",
    num_threads: int | None = None,
):
    """The task's mjlab env with no prior: default-pose resets, mjlab's own auto-reset, on the
    same physics ``backend`` as the env it is compared with."""
    from mjlab.envs import mdp
    from mjlab.managers.event_manager import EventTermCfg

    from smp_gym.config import SimCfg
    from smp_gym.envs import task_spec
    from smp_gym.registry import task_info
    from smp_gym.sim.mjlab_bridge import make_mjlab_env

    spec = task_spec(task)
    cfg = spec.make_sim_cfg(spec.cfg_type(), SimCfg(), task_info(task).episode_length_s)
    cfg.scene.num_envs, cfg.auto_reset, cfg.seed = num_envs, True, 0
    cfg.events["reset"] = EventTermCfg(func=mdp.reset_scene_to_default, mode="reset")
    return make_mjlab_env(cfg, device, None, False, backend=backend, num_threads=num_threads)


def _throughput(steppers: dict, n: int, dim: int, device, steps: int, warmup: int, repeats: int):
    """Env-steps/s (median over repeats) and worst single step of each env. The envs take turns
    within every repeat, so a slow spell of a shared machine hits both and the ratio holds."""
    g = torch.Generator().manual_seed(0)
    acts = [_actions(n, dim, device, g) for _ in range(16)]
    for step in steppers.values():
        for i in range(warmup):
            step(acts[i % 16])
    rates: dict = {k: [] for k in steppers}
    worst = dict.fromkeys(steppers, 0.0)
    for _ in range(repeats):
        for name, step in steppers.items():
            _sync(device)
            t0 = time.perf_counter()
            for i in range(steps):
                s0 = time.perf_counter()
                step(acts[i % 16])
                if device.type == "cpu":
                    worst[name] = max(worst[name], time.perf_counter() - s0)
            _sync(device)
            rates[name].append(n * steps / (time.perf_counter() - t0))
    return {k: statistics.median(v) for k, v in rates.items()}, worst


def _instrument(env, times: dict, device):
    u = env.unwrapped

    def wrap(obj, name, stage):
        fn = getattr(obj, name)

        def timed(*a, **k):
            _sync(device)
            t = time.perf_counter()
            out = fn(*a, **k)
            _sync(device)
            times[stage] += time.perf_counter() - t
            return out

        setattr(obj, name, timed)

    wrap(u.sim, "step", "physics+task")
    wrap(u, "_reader", "frame+window")
    wrap(u.window, "push", "frame+window")
    wrap(u.window, "features", "features")
    wrap(u.reward, "scorer", "prior forward")
    for name in ("record", "update", "normalize"):
        wrap(u.reward.normalizer, name, "normalizer+reward")
    wrap(u, "_reset_envs", "gsi+resets")
    if u.gsi is not None:
        wrap(u.gsi, "tick", "gsi+resets")


def bench_one(
    task: str,
    num_envs: int,
    device: torch.device,
    steps: int,
    warmup: int,
    repeats: int,
    overrides: dict | None = None,
) -> dict:
    import gymnasium

    import smp_gym  # noqa: F401

    row: dict = {"num_envs": num_envs}
    overrides = overrides or {}
    raw = raw_env(
        task, num_envs, device, overrides.get("backend", "warp"), overrides.get("num_threads")
    )
    raw.reset()
    dim = raw.single_action_space.shape[0]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        free0, total = torch.cuda.mem_get_info(device)
    env = gymnasium.make_vec(
        task, num_envs=num_envs, device=device, seed=0, validate_actions=False, **overrides
    )
    env.reset(seed=0)
    rates, worst = _throughput(
        {"raw": raw.step, "smp": env.step}, num_envs, dim, device, steps, warmup, repeats
    )
    raw.close()
    del raw
    row["raw_steps_per_s"], row["smp_steps_per_s"] = rates["raw"], rates["smp"]
    row["ratio"] = row["smp_steps_per_s"] / row["raw_steps_per_s"]
    row["prior_forward"] = env.unwrapped.reward.scorer.path  # compiled or eager (after warm-up)
    row["overhead_pct"] = 100.0 * (row["raw_steps_per_s"] / row["smp_steps_per_s"] - 1.0)
    if device.type == "cpu":
        row["worst_step_ms"] = {k: 1000 * v for k, v in worst.items()}
    times: dict = defaultdict(float)
    _instrument(env, times, device)
    g = torch.Generator().manual_seed(1)
    per_step = []
    for _ in range(steps):
        a = _actions(num_envs, dim, device, g)
        _sync(device)
        t = time.perf_counter()
        env.step(a)
        _sync(device)
        per_step.append(time.perf_counter() - t)
    total = sum(per_step)
    times["other"] = max(0.0, total - sum(times.values()))
    row["split_ms_per_step"] = {k: 1000 * times[k] / steps for k in STAGES}
    row["worst_step_ms_timed"] = 1000 * max(per_step)
    row["median_step_ms_timed"] = 1000 * statistics.median(per_step)
    if device.type == "cuda":
        row["peak_torch_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        row["device_mem_used_gib"] = (free0 - torch.cuda.mem_get_info(device)[0]) / 2**30
        import warp as wp

        row["warp_pool_high_gib"] = wp.get_mempool_used_mem_high(str(device)) / 2**30
    gsi = env.unwrapped.gsi
    if gsi is not None:  # one pool refresh, timed per denoising step: what amortizing it saves
        chain, advances = gsi.make_chain(gsi.refresh_count), []
        while not chain.done:
            _sync(device)
            t = time.perf_counter()
            chain.advance()
            _sync(device)
            advances.append(time.perf_counter() - t)
        row["gsi_refresh"] = {
            "windows": gsi.refresh_count,
            "every_steps": gsi.refresh_interval,
            "one_advance_ms": 1000 * statistics.median(advances),
            "unamortized_ms": 1000 * sum(advances),
        }
    env.close()
    return row


def cpu_name() -> str:
    """The CPU's model name (``platform.processor()`` is empty on most Linux systems)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def _refresh_cells(g: dict | None) -> tuple[str, str]:
    return ("-", "-") if g is None else (f"{g['one_advance_ms']:.1f}", f"{g['unamortized_ms']:.0f}")


def main(
    task: str,
    num_envs,
    steps: int,
    warmup: int,
    repeats: int,
    device: str,
    json_out: bool,
    out: Path | None,
    overrides: dict | None = None,
) -> dict:
    from smp_gym.device import resolve_device

    dev = resolve_device(device)
    rows = []
    for n in num_envs:
        rows.append(bench_one(task, n, dev, steps, warmup, repeats, overrides))
        release(dev)
    result = {
        "task": task,
        "device": str(dev),
        "machine": machine(),
        "steps": steps,
        "warmup": warmup,
        "repeats": repeats,
        "rows": rows,
    }
    if out is not None:
        Path(out).write_text(json.dumps(result, indent=2))
    if json_out:
        print(json.dumps(result, indent=2))
        return result
    from rich.console import Console
    from rich.table import Table

    def table(title: str, cols: tuple[str, ...], cells) -> Table:
        t = Table(title=title)
        for col in cols:
            t.add_column(col, justify="right")
        for r in rows:
            t.add_row(str(r["num_envs"]), *cells(r))
        return t

    console = Console()
    console.print(
        table(
            f"{task} on {dev}: env-steps/s, median of {repeats} x {steps} steps",
            ("envs", "raw mjlab (a)", "SmpVectorEnv (b)", "b/a", "overhead"),
            lambda r: (
                f"{r['raw_steps_per_s']:.0f}",
                f"{r['smp_steps_per_s']:.0f}",
                f"{r['ratio']:.3f}",
                f"{r['overhead_pct']:.1f}%",
            ),
        )
    )
    short = {
        "physics+task": "physics",
        "frame+window": "window",
        "features": "features",
        "prior forward": "prior",
        "normalizer+reward": "reward",
        "gsi+resets": "gsi+reset",
    }
    console.print(
        table(
            "SmpVectorEnv step time (ms per step): physics+task, frame+window, features, "
            "prior forward, normalizer+reward, GSI+resets; prior path",
            ("envs", *(short[k] for k in STAGES[:-1]), "path"),
            lambda r: [
                *(f"{r['split_ms_per_step'][k]:.2f}" for k in STAGES[:-1]),
                r.get("prior_forward", "?"),
            ],
        )
    )
    console.print(
        table(
            "step time and GSI refresh (ms)",
            ("envs", "median step", "worst step", "GSI refresh per step", "if not amortized"),
            lambda r: (
                f"{r['median_step_ms_timed']:.1f}",
                f"{r['worst_step_ms_timed']:.1f}",
                *_refresh_cells(r.get("gsi_refresh")),
            ),
        )
    )
    return result
