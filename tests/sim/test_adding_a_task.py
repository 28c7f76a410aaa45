"""Adding a task is one file plus one registry row (docs/adding_a_task.md)."""

import gymnasium
import pytest
import torch

from smp_gym.check import check_vector_env

pytestmark = pytest.mark.sim


def test_a_toy_task_registered_by_one_row_runs_and_reports_its_metric(toy_id):
    env = gymnasium.make_vec(
        toy_id, num_envs=2, device="cpu", gsi={"pool_size": 32, "batch_size": 32}, seed=0
    )
    assert env.unwrapped.metric_specs["speed"].title == "peak speed [m/s]"
    check_vector_env(env, steps=12)  # 0.2 s episodes: several autoresets
    env.reset(seed=0)
    peak = torch.zeros(2)
    for _ in range(10):
        _, reward, _, _, info = env.step(torch.zeros(2, 29))
        peak = torch.maximum(peak, info["metric_speed"])
        assert torch.allclose(reward, info["task_reward"] * info["smp_reward"])
        if (
            "_smp_episode/length" in info
        ):  # the episode value is the declared reduction (max) of the steps
            done = info["_smp_episode/length"]
            assert torch.allclose(info["smp_episode/speed"][done], peak[done])
            peak[done] = 0.0
    env.close()
