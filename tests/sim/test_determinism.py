"""Same seed => identical observations and rewards over 50 steps on CPU."""

import pytest
import torch

from tests.sim.conftest import make, random_actions

pytestmark = pytest.mark.sim


def rollout(seed: int, steps: int = 50):
    env = make("SmpSteeringG1-v0", num_envs=3, seed=seed, episode_length_s=0.5)
    obs, _ = env.reset(seed=seed)
    g = torch.Generator().manual_seed(123)
    trace_obs, trace_rew = [obs.clone()], []
    for _ in range(steps):
        obs, reward, *_ = env.step(random_actions(env, g))
        trace_obs.append(obs.clone())
        trace_rew.append(reward.clone())
    env.close()
    return torch.stack(trace_obs), torch.stack(trace_rew)


def test_same_seed_same_trajectory():
    obs_a, rew_a = rollout(7)
    obs_b, rew_b = rollout(7)
    assert torch.equal(obs_a, obs_b) and torch.equal(rew_a, rew_b)
    obs_c, _ = rollout(8, steps=5)
    assert not torch.equal(obs_a[:6], obs_c)
