"""Small helpers the example trainers share (run folders, sizing, final artifacts)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import torch

from smp_gym.device import resolve_device


def default_num_envs(device: torch.device) -> int:
    """4096 envs on a GPU, 16 on a CPU (about 10 minutes of training per 150 PPO iterations on
    a 2-core machine)."""
    return 4096 if device.type == "cuda" else 16


def default_iterations(device: torch.device) -> int:
    return 1500 if device.type == "cuda" else 150


def rank_info() -> tuple[int, int, int]:
    """(rank, local_rank, world_size) from torchrun's environment (0, 0, 1 without torchrun)."""
    return (
        int(os.getenv("RANK", "0")),
        int(os.getenv("LOCAL_RANK", "0")),
        int(os.getenv("WORLD_SIZE", "1")),
    )


def setup_device_and_seed(device: str, seed: int) -> tuple[torch.device, int]:
    """Device and seed of this process: under torchrun, ``cuda:$LOCAL_RANK`` and ``seed + rank``."""
    rank, local_rank, world = rank_info()
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local_rank)
    return dev, seed + rank


def init_distributed(device: torch.device) -> None:
    """Under torchrun (``WORLD_SIZE > 1``), before any env is built: make this rank's GPU the
    current CUDA device (mjlab builds its Warp stream and CUDA graphs on the *current* device,
    which otherwise stays cuda:0 on every rank) and join the process group bound to it
    (``device_id``: NCCL on GPUs, gloo on CPUs). No-op without torchrun or when joined."""
    import torch.distributed as dist

    if rank_info()[2] <= 1 or dist.is_initialized():
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")


def import_skrl(device: torch.device):
    """Import skrl for this process, after :func:`init_distributed`. skrl 2.1.1, when first
    imported with ``WORLD_SIZE > 1``, joins an NCCL process group itself (no ``device_id``, and
    no CPU ranks: "ProcessGroupNCCL is only supported with GPUs"). This imports it with
    ``WORLD_SIZE`` hidden, then gives skrl's config the ranks of the group already joined, so
    PPO still broadcasts the initial weights, all-reduces gradients and KL, and ranks > 0 write
    no logs or checkpoints."""
    rank, local_rank, world = rank_info()
    if world > 1 and "skrl" in sys.modules:
        import skrl

        if not skrl.config.torch.is_distributed:
            raise RuntimeError(
                "skrl was imported before training.import_skrl(): import it only through "
                "import_skrl() under torchrun, so it does not start its own process group."
            )
        return skrl
    saved = os.environ.pop("WORLD_SIZE", None)
    try:
        import skrl
    finally:
        if saved is not None:
            os.environ["WORLD_SIZE"] = saved
    if world > 1:  # skrl 2.1.1 keeps these in private fields behind read-only properties
        cfg = skrl.config.torch
        cfg._rank, cfg._local_rank, cfg._world_size = rank, local_rank, world
        cfg._is_distributed, cfg._device = True, str(device)
    return skrl


def env_overrides(prior: str | None = None, gsi_pool_size: int | None = None) -> dict:
    """make_vec overrides from the examples' flags (only the ones that were given)."""
    out: dict = {}
    if prior:
        out["prior"] = prior
    if gsi_pool_size:
        out["gsi"] = {"pool_size": gsi_pool_size, "batch_size": min(1024, gsi_pool_size)}
    return out


def make_run_dir(out: Path, task: str, library: str, name: str | None = None) -> Path:
    """RUN_DIR = OUT/NAME (default ``<task>_<library>_<time>``). The examples call it only once
    their env is built, so a run that fails to start leaves no folder that looks like a run.
    Under torchrun only rank 0 creates it; the other ranks get rank 0's path (so they agree on
    it even when the time stamp would differ) and must not write there."""
    import torch.distributed as dist

    run = Path(out) / (name or f"{task}_{library}_{time.strftime('%Y%m%d-%H%M%S')}")
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        shared = [str(run)]
        dist.broadcast_object_list(shared, src=0)
        run = Path(shared[0])
        if dist.get_rank() != 0:
            return run
    run.mkdir(parents=True, exist_ok=True)
    return run


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, default=str))


def write_args(run_dir: Path, args, env, **resolved) -> None:
    """RUN_DIR/args.json: the script's ``Args``, the values resolved at run time (``num_envs``,
    ``iterations``, ``device``), the task's metric declarations (label, unit), which
    ``smp-gym curves`` reads to title its panels, and the env's resolved config (``env``)."""
    import dataclasses

    metrics = {
        name: {
            "label": m.label or name,
            "unit": m.unit,
            "lower_is_better": m.lower_is_better,
            "success": m.success,
        }
        for name, m in env.unwrapped.metric_specs.items()
    }
    env_cfg = env.unwrapped.cfg.to_dict()  # the env's resolved config: what ran
    write_json(
        Path(run_dir) / "args.json",
        {**dataclasses.asdict(args), **resolved, "metrics": metrics, "env": env_cfg},
    )


def finish(
    run_dir: Path, bundle: dict, video: bool, video_steps: int, device: torch.device
) -> None:
    """Save the policy bundle, then render a clip of it (a failure to render only warns)."""
    from smp_gym.tools.policy import play, save_bundle

    path = save_bundle(bundle, run_dir / "policy.pt")
    print(f"policy: {path}")
    if video:
        try:
            print(
                f"video: {play(path, out=run_dir / 'play.mp4', steps=video_steps, device=device)}"
            )
        except Exception as err:  # noqa: BLE001 - rendering is optional, the checkpoint is not
            print(f"warning: could not render a clip ({err})")


class GracefulStop:
    """Ctrl-C (SIGINT, also ``timeout -s INT``) during training: the first one lets the current
    PPO iteration finish so the loop can save a checkpoint and the policy and exit as if the run
    had ended (check :attr:`requested` after each iteration); a second one interrupts at once.

    Installed only in the main thread of a single-process run: under torchrun every rank gets the
    signal and could stop after a different iteration, leaving the others in a collective, so
    there Ctrl-C interrupts as usual."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = (
            enabled
            and rank_info()[2] == 1
            and threading.current_thread() is threading.main_thread()
        )
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print(
            "\nCtrl-C: finishing this iteration, then saving a checkpoint and the policy "
            "(Ctrl-C again to stop at once)",
            file=sys.stderr,
            flush=True,
        )

    def __enter__(self) -> GracefulStop:
        if self.enabled:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled:
            signal.signal(signal.SIGINT, self._previous)


class ProgressStats:
    """What people watch while training, from the env's step info: the mean return and length of
    the episodes that ended, r_smp per step, the task's error metric per step (the first declared
    metric with ``lower_is_better``) and its success metric over ended episodes.

    ``update`` only adds tensors on the env's device (no host sync); ``postfix`` reads them once
    and starts a new window. Episode values carry over windows in which no episode ended."""

    def __init__(self, env) -> None:
        u = env.unwrapped
        specs = getattr(u, "metric_specs", {})
        self.error = next((m for m in specs.values() if m.lower_is_better), None)
        self.success = next((m for m in specs.values() if m.success), None)
        self._sums = torch.zeros(7, device=u.device)  # ret, len, n, smp, steps, error, success
        self._last = {"return": "-", "len": "-"}

    def update(self, info: dict) -> None:
        s = self._sums
        s[3] += info["smp_reward"].float().mean()
        s[4] += 1
        if self.error is not None:
            s[5] += info[f"metric_{self.error.name}"].float().mean()
        if "_smp_episode/length" in info:
            done = info["_smp_episode/length"].float()
            s[0] += (info["smp_episode/return"] * done).sum()
            s[1] += (info["smp_episode/length"].float() * done).sum()
            s[2] += done.sum()
            if self.success is not None:
                s[6] += (info[f"smp_episode/{self.success.name}"].float() * done).sum()

    def postfix(self) -> dict[str, str]:
        ret, length, n, smp, steps, err, success = self._sums.tolist()
        self._sums.zero_()
        if n > 0:
            self._last = {"return": f"{ret / n:.2f}", "len": f"{length / n:.0f}"}
            if self.success is not None:
                self._last[self.success.name] = f"{success / n:.0%}"
        out = dict(self._last)
        if steps > 0:
            out["r_smp"] = f"{smp / steps:.3f}"
            if self.error is not None:
                out[self.error.name] = f"{err / steps:.3f}" + (
                    f" {self.error.unit}" if self.error.unit else ""
                )
        return out


class ProgressBar:
    """A tqdm bar over PPO iterations whose postfix (:class:`ProgressStats`) is refreshed at the
    end of each iteration. Call :meth:`step` with the env's info after every env step."""

    def __init__(
        self, env, iterations: int, steps_per_iteration: int, disable: bool = False
    ) -> None:
        from tqdm import tqdm

        self.stats = ProgressStats(env)
        self.steps_per_iteration = steps_per_iteration
        self._steps = 0
        self.bar = tqdm(
            total=iterations, unit="it", desc="PPO", disable=disable, dynamic_ncols=True
        )

    def step(self, info: dict) -> None:
        self.stats.update(info)
        self._steps += 1
        if self._steps % self.steps_per_iteration == 0:
            self.bar.set_postfix(self.stats.postfix(), refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
