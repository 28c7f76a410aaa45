"""The first thing to run when a GPU is lent: one script, one JSON, <= 8 minutes on one
H100-class GPU. Each stage is timed, recorded and written as it finishes (nothing is lost when a
later stage fails); the exit status is non-zero when any check failed.

    python benchmarks/gpu_probe.py                   # on a CUDA machine -> benchmarks/gpu_probe.json
    python benchmarks/gpu_probe.py --dry-run         # the whole sequence on the CPU at 4 envs

Stages: (1) the machine and versions; (2) Steering at 4096 and 16384 envs, raw mjlab and
SmpVectorEnv side by side: build time, the first steps one by one (graph capture, prior
compile), 100 timed steps, host syncs per step by source line (torch's
``set_sync_debug_mode("warn")`` and ``smp_gym.tools.syncs.SyncCounter``), Warp launches and
CUDA-graph replays per step, peak memory (``max_memory_allocated`` and ``mem_get_info``, which
sees Warp's pool and the graphs) — asserting mjlab's CUDA graphs are on and the compiled prior
is in use; ``torch.compiler.reset()`` and a cache release between sizes; (3) a ``state_dict``
saved and loaded back with ``map_location="cuda"``; (4) Dodgeball, NEXT_STEP and DISABLED for 20
steps at 1024 envs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import torch
import tyro


@dataclasses.dataclass
class Args:
    out: Path = Path(__file__).with_name("gpu_probe.json")
    dry_run: bool = False
    """Run the whole sequence on the CPU at 4 envs (CUDA-only checks are recorded as skipped)."""
    sizes: tuple[int, ...] = (4096, 16384)
    steps: int = 100
    """Timed steps per env and size."""
    first_steps: int = 5
    modes_envs: int = 1024
    modes_steps: int = 20
    budget_s: float = 480.0
    """Stages that would start after this many seconds are skipped (and say so)."""


class Probe:
    def __init__(self, args: Args, device: torch.device) -> None:
        self.args, self.device, self.t0 = args, device, time.perf_counter()
        self.result: dict = {"device": str(device), "dry_run": args.dry_run, "stages": {}}
        self.env_kwargs: dict = {"gsi": {"pool_size": 16, "batch_size": 16}} if args.dry_run else {}
        self.failed: list[str] = []

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def stage(self, name: str, fn, *args) -> None:
        """Run one stage, record its result (or its error) and its wall time, write the JSON."""
        elapsed = time.perf_counter() - self.t0
        if elapsed > self.args.budget_s:
            self.result["stages"][name] = {"skipped": f"time budget spent ({elapsed:.0f} s)"}
            self.failed.append(f"{name}: skipped")
            return self.write()
        start = time.perf_counter()
        print(f"[{elapsed:6.1f} s] {name} ...", flush=True)
        try:
            out = fn(*args)
        except Exception as err:  # noqa: BLE001 - a probe records every failure and goes on
            out = {"error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc()}
            self.failed.append(f"{name}: {type(err).__name__}: {str(err)[:300]}")
        out["wall_s"] = round(time.perf_counter() - start, 2)
        self.result["stages"][name] = out
        self.write()

    def check(self, out: dict, name: str, ok: bool, detail) -> None:
        """A named assertion: recorded in the stage's ``checks``; a failure fails the probe."""
        out.setdefault("checks", {})[name] = {"ok": bool(ok), "detail": detail}
        if not ok:
            self.failed.append(f"{name}: {detail}")

    def write(self) -> None:
        self.result["failed"] = self.failed
        self.result["elapsed_s"] = round(time.perf_counter() - self.t0, 1)
        self.args.out.parent.mkdir(parents=True, exist_ok=True)
        self.args.out.write_text(json.dumps(self.result, indent=2, default=str))

    def memory(self) -> dict:
        if self.device.type != "cuda":
            return {}
        import warp as wp

        free, total = torch.cuda.mem_get_info(self.device)
        return {
            "device_used_gib": (total - free) / 2**30,
            "torch_peak_gib": torch.cuda.max_memory_allocated(self.device) / 2**30,
            "warp_pool_high_gib": wp.get_mempool_used_mem_high(str(self.device)) / 2**30,
        }

    def timed_steps(self, step, actions: torch.Tensor, first: int, steps: int) -> dict:
        """The first ``first`` steps one by one (ms), then ``steps`` steps: env-steps/s."""
        first_ms = []
        for _ in range(first):
            self.sync()
            t = time.perf_counter()
            step(actions)
            self.sync()
            first_ms.append(round(1000 * (time.perf_counter() - t), 2))
        self.sync()
        t = time.perf_counter()
        for _ in range(steps):
            step(actions)
        self.sync()
        dt = time.perf_counter() - t
        return {"first_steps_ms": first_ms, "steps_per_s": actions.shape[0] * steps / dt}

    def syncs_per_step(self, step, actions: torch.Tensor, steps: int = 10) -> dict:
        """Host syncs per step by source line: torch's own report (CUDA) and our counter."""
        from smp_gym.tools.syncs import LaunchCounter, SyncCounter

        self.sync()
        with (
            warnings.catch_warnings(record=True) as caught,
            SyncCounter() as syncs,
            LaunchCounter() as launches,
        ):
            warnings.simplefilter("always")
            if self.device.type == "cuda":
                torch.cuda.set_sync_debug_mode("warn")
            try:
                for _ in range(steps):
                    step(actions)
            finally:
                if self.device.type == "cuda":
                    torch.cuda.set_sync_debug_mode("default")
        torch_sites = Counter(
            f"{w.filename}:{w.lineno}" for w in caught if "synchroniz" in str(w.message).lower()
        )
        return {
            "torch_sync_debug": {k: v / steps for k, v in torch_sites.most_common()},
            "sync_counter": syncs.summary(per=steps),
            "warp_launches_per_step": launches.eager / steps,
            "graph_replays_per_step": launches.graphs / steps,
            "launch_sites": {k: v / steps for k, v in launches.sites.most_common(12)},
        }


def steering_size(p: Probe, n: int) -> dict:
    import gymnasium

    from smp_gym.tools.bench import raw_env, release

    out: dict = {"num_envs": n}
    a = 0.3 * torch.randn(n, 29, generator=torch.Generator().manual_seed(0))
    a = a.to(p.device)
    t = time.perf_counter()
    raw = raw_env("SmpSteeringG1-v0", n, p.device)
    raw.reset()
    out["raw_build_s"] = time.perf_counter() - t
    out["raw"] = p.timed_steps(raw.step, a, p.args.first_steps, p.args.steps)
    out["raw"].update(p.syncs_per_step(raw.step, a), memory=p.memory())
    raw.close()
    del raw
    release(p.device)

    t = time.perf_counter()
    env = gymnasium.make_vec(
        "SmpSteeringG1-v0", num_envs=n, device=p.device, seed=0, **p.env_kwargs
    )
    env.reset(seed=0)
    out["smp_build_s"] = time.perf_counter() - t
    out["smp"] = p.timed_steps(env.step, a, p.args.first_steps, p.args.steps)
    out["smp"].update(p.syncs_per_step(env.step, a), memory=p.memory())
    out["ratio"] = out["smp"]["steps_per_s"] / out["raw"]["steps_per_s"]
    u = env.unwrapped
    graphs, path = bool(u.sim.sim.use_cuda_graph), u.reward.scorer.path
    if p.device.type == "cuda":
        p.check(out, "cuda_graphs_on", graphs, f"mjlab use_cuda_graph={graphs}")
        p.check(out, "compiled_prior", path == "compiled", f"prior forward path={path}")
    else:
        out["checks"] = {"cuda_graphs_on": "skipped (CPU)", "compiled_prior": f"path={path}"}
    env.close()
    del env
    release(p.device)
    return out


def state_dict_round_trip(p: Probe, n: int) -> dict:
    import io

    import gymnasium

    env = gymnasium.make_vec(
        "SmpSteeringG1-v0", num_envs=n, device=p.device, seed=0, **p.env_kwargs
    )
    env.reset(seed=0)
    a = torch.zeros(n, 29, device=p.device)
    for _ in range(3):
        env.step(a)
    buf = io.BytesIO()
    torch.save(env.unwrapped.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, map_location=p.device.type, weights_only=False)
    out: dict = {"num_envs": n}
    try:
        env.unwrapped.load_state_dict(state)
        env.step(a)
        p.check(out, "load_state_dict", True, f"map_location={p.device.type!r}")
    except Exception as err:  # noqa: BLE001 - issue 17 finding 5: recorded, not fatal
        p.check(out, "load_state_dict", False, f"{type(err).__name__}: {err}")
    env.close()
    return out


def modes_and_dodgeball(p: Probe) -> dict:
    import gymnasium

    from smp_gym.tools.bench import release

    n, steps, out = p.args.modes_envs, p.args.modes_steps, {}
    for label, task, mode in (
        ("dodgeball", "SmpDodgeballG1-v0", "SameStep"),
        ("next_step", "SmpSteeringG1-v0", "NextStep"),
        ("disabled", "SmpSteeringG1-v0", "Disabled"),
    ):
        env = gymnasium.make_vec(
            task, num_envs=n, device=p.device, seed=0, autoreset_mode=mode, **p.env_kwargs
        )
        env.reset(seed=0)
        a = torch.zeros(n, env.single_action_space.shape[0], device=p.device)
        ended = torch.zeros(n, dtype=torch.bool, device=p.device)

        def step(actions, env=env, mode=mode):
            nonlocal ended
            if mode == "Disabled" and bool(ended.any()):  # the user's reset of ended envs
                env.reset(options={"reset_mask": ended})
            _, _, term, trunc, _ = env.step(actions)
            ended = term | trunc

        row = p.timed_steps(step, a, 1, steps)
        row.update(p.syncs_per_step(step, a, steps=5), memory=p.memory())
        out[label] = row
        env.close()
        del env
        release(p.device)
    return out


def machine(p: Probe) -> dict:
    from importlib.metadata import version

    import warp as wp

    from smp_gym.tools.bench import machine as bench_machine

    info = {**bench_machine(), "warp": wp.__version__, "mjlab": version("mjlab")}
    if p.device.type == "cuda":
        wp.init()
        info["cuda_driver"] = wp.get_cuda_driver_version()
        info["warp_mempool"] = wp.is_mempool_enabled(str(p.device))
        info["gpu_total_gib"] = torch.cuda.mem_get_info(p.device)[1] / 2**30
    return info


def main(args: Args) -> int:
    if not args.dry_run and not torch.cuda.is_available():
        print(
            "gpu_probe: no CUDA device here (torch.cuda.is_available() is False), so there is "
            "nothing to probe. Run it on a GPU machine, or add --dry-run to run the whole "
            "sequence on the CPU at 4 envs.",
            file=sys.stderr,
        )
        return 2
    if args.dry_run:  # the sequence, not the numbers: tiny sizes, a small GSI pool, no budget
        args = dataclasses.replace(
            args, sizes=(4,), steps=10, modes_envs=4, first_steps=2, budget_s=float("inf")
        )
    device = torch.device("cpu" if args.dry_run else "cuda")
    import smp_gym  # noqa: F401  (registers the ids)

    p = Probe(args, device)
    p.stage("machine", machine, p)
    for n in args.sizes:
        p.stage(f"steering_{n}", steering_size, p, n)
    p.stage("state_dict_map_location", state_dict_round_trip, p, args.modes_envs)
    p.stage("modes_and_dodgeball", modes_and_dodgeball, p)
    p.write()
    print(f"gpu_probe: {args.out} ({p.result['elapsed_s']} s)")
    for line in p.failed:
        print(f"  FAILED {line}", file=sys.stderr)
    return 1 if p.failed else 0


if __name__ == "__main__":
    sys.exit(main(tyro.cli(Args)))
