"""Faults: a simulation blow-up in one env terminates and resets that env only."""

import pytest
import torch

from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def test_nan_state_in_one_env_is_reset_and_counted():
    env = make("SmpSteeringG1-v0", num_envs=3, sim={"push_robot": False})
    u = env.unwrapped
    env.reset(seed=0)
    for _ in range(3):
        env.step(torch.zeros(3, 29))
    mean_before = u.reward.normalizer.mean.clone()
    u.sim.sim.data.qvel[1, 6:] = float("nan")  # env 1 blows up
    obs, reward, terminated, truncated, info = env.step(torch.zeros(3, 29))
    assert terminated[1] and info["nonfinite"].tolist() == [False, True, False]
    assert reward[1] == 0.0 and torch.isfinite(reward).all()
    assert torch.isfinite(obs).all() and torch.isfinite(u.state()).all()
    assert torch.isfinite(u.sim.sim.data.qpos).all() and torch.isfinite(u.sim.sim.data.qvel).all()
    assert torch.isfinite(
        u.reward.normalizer.mean
    ).all()  # the blown-up env never entered the running mean
    assert not torch.equal(u.reward.normalizer.mean, mean_before)
    for _ in range(5):  # training continues
        obs, reward, terminated, *_ = env.step(torch.zeros(3, 29))
        assert torch.isfinite(obs).all() and torch.isfinite(reward).all()
    env.close()


def test_actions_on_an_unusable_device_are_a_clear_error():
    env = make("SmpSteeringG1-v0", num_envs=2)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions: cannot use meta actions on cpu"):
        env.step(torch.zeros(2, 29, device="meta"))
    with pytest.raises(ValueError, match="expected finite"):
        env.step([[float("nan")] * 29] * 2)
    env.close()


def test_num_envs_must_be_positive():
    import gymnasium

    from smp_gym.errors import ConfigError

    for bad in (0, -3):
        with pytest.raises(ConfigError, match=f"num_envs: received {bad}"):
            gymnasium.make_vec("SmpSteeringG1-v0", num_envs=bad)
