"""Small helpers the example trainers share (run folders, sizing, final artifacts)."""

from __future__ import annotations

import json
import os
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
    return int(os.getenv("RANK", "0")), int(os.getenv("LOCAL_RANK", "0")), int(os.getenv("WORLD_SIZE", "1"))


def setup_device_and_seed(device: str, seed: int) -> tuple[torch.device, int]:
    """Device and seed of this process: under torchrun, ``cuda:$LOCAL_RANK`` and ``seed + rank``."""
    rank, local_rank, world = rank_info()
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local_rank)
    return dev, seed + rank


def env_overrides(prior: str | None = None, gsi_pool_size: int | None = None) -> dict:
    """make_vec overrides from the examples' flags (only the ones that were given)."""
    out: dict = {}
    if prior:
        out["prior"] = prior
    if gsi_pool_size:
        out["gsi"] = {"pool_size": gsi_pool_size, "batch_size": min(1024, gsi_pool_size)}
    return out


def make_run_dir(out: Path, task: str, library: str, name: str | None = None) -> Path:
    run = Path(out) / (name or f"{task}_{library}_{time.strftime('%Y%m%d-%H%M%S')}")
    run.mkdir(parents=True, exist_ok=True)
    return run


def write_json(path: Path, obj) -> None:
    Path(path).write_text(json.dumps(obj, indent=2, default=str))


def finish(run_dir: Path, bundle: dict, video: bool, video_steps: int, device: torch.device) -> None:
    """Save the policy bundle, then render a clip of it (a failure to render only warns)."""
    from smp_gym.tools.policy import play, save_bundle

    path = save_bundle(bundle, run_dir / "policy.pt")
    print(f"policy: {path}")
    if video:
        try:
            print(f"video: {play(path, out=run_dir / 'play.mp4', steps=video_steps, device=device)}")
        except Exception as err:  # noqa: BLE001 - rendering is optional, the checkpoint is not
            print(f"warning: could not render a clip ({err})")


def run_example(library: str, **kwargs) -> None:
    """Run an example's ``main`` (the CLI's ``smp-gym train``)."""
    import importlib

    module = importlib.import_module(f"smp_gym.examples.{library}_ppo")
    fields = module.Args.__dataclass_fields__
    module.main(module.Args(**{k: v for k, v in kwargs.items() if k in fields and v is not None}))
