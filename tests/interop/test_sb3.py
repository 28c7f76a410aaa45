"""Stable-Baselines3 row: PPO through our VecEnv adapter for a few hundred env steps (SAME_STEP:
terminal observations from ``final_obs``, episode stats in SB3's ``ep_info_buffer``)."""

import pytest
import torch

sb3 = pytest.importorskip("stable_baselines3")
from smp_gym.adapters.sb3 import SmpLogCallback, SmpSb3VecEnv  # noqa: E402
from tests.sim.conftest import make  # noqa: E402

pytestmark = pytest.mark.sim


def test_ppo_a_few_hundred_steps():
    vec = SmpSb3VecEnv(
        make(
            "SmpSteeringG1-v0",
            num_envs=2,
            episode_length_s=0.2,
            gsi={"init": "default"},
            sim={"push_robot": False},
        )
    )
    model = sb3.PPO("MlpPolicy", vec, n_steps=64, batch_size=64, n_epochs=2, device="cpu", seed=0)
    before = {k: v.clone() for k, v in model.policy.state_dict().items()}
    model.learn(total_timesteps=256, callback=SmpLogCallback())
    assert model.num_timesteps == 256  # 2 rollouts of 64 steps x 2 envs
    after = model.policy.state_dict()
    assert not torch.equal(
        before["mlp_extractor.policy_net.0.weight"], after["mlp_extractor.policy_net.0.weight"]
    )
    # 0.2 s = 10-step episodes: 128 steps per env end at least 12 episodes per env (fewer steps if one falls)
    assert len(model.ep_info_buffer) >= 24 and all(
        1 <= ep["l"] <= 10 for ep in model.ep_info_buffer
    )
    vec.close()
