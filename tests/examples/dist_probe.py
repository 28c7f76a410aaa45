"""Launched by torchrun: each rank builds its env on its own device and seed, then all-reduces."""

import json
import os
import sys

import torch.distributed as dist

from smp_gym.tools import training


def main() -> None:
    dist.init_process_group("gloo")
    device, seed = training.setup_device_and_seed("cpu", 100)
    import gymnasium

    import smp_gym  # noqa: F401

    env = gymnasium.make_vec(
        "SmpSteeringG1-v0",
        num_envs=2,
        device=device,
        seed=seed,
        gsi={"pool_size": 16, "batch_size": 16},
    )
    obs, _ = env.reset(seed=seed)
    total = obs.sum().clone()
    dist.all_reduce(total)
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, float(obs.sum()))
    result = {
        "rank": dist.get_rank(),
        "seed": seed,
        "device": str(device),
        "allreduce_ok": abs(float(total) - sum(gathered)) < 1e-3 * max(1.0, abs(float(total))),
    }
    with open(os.path.join(sys.argv[1], f"rank{dist.get_rank()}.json"), "w") as f:
        json.dump(result, f)
    env.close()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
