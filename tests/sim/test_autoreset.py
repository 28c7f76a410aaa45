"""Same-step autoreset: only the envs that ended reset, ``final_obs`` is the true terminal
observation, and every other env's state is untouched."""

import pytest
import torch

from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def _capture(env):
    """Record what mjlab's step returned (pre-reset) and the sim state right before resets."""
    u, seen = env.unwrapped, {}
    step, reset = u.sim.step, u.sim._reset_idx

    def step_spy(actions):
        out = step(actions)
        seen["obs"] = out[0]["actor"].clone()
        seen["critic"] = out[0]["critic"].clone()
        return out

    def reset_spy(env_ids):
        seen["qpos_before_reset"] = u.sim.sim.data.qpos.clone()
        seen["reset_ids"] = env_ids.clone()
        return reset(env_ids)

    u.sim.step, u.sim._reset_idx = step_spy, reset_spy
    return seen


def test_forced_termination_resets_only_that_env():
    env = make("SmpForwardG1-v0", num_envs=4, gsi={"init": "default"},
               sim={"observation_noise": False, "push_robot": False})  # standing still: no falls
    u = env.unwrapped
    env.reset(seed=1)
    for _ in range(3):
        env.step(torch.zeros(4, 29))
    seen = _capture(env)
    u.sim.episode_length_buf[2] = u.sim.max_episode_length - 1  # env 2 times out on the next step
    obs, reward, terminated, truncated, info = env.step(torch.zeros(4, 29))
    done = terminated | truncated
    assert done.tolist() == [False, False, True, False] and truncated[2]
    assert seen["reset_ids"].tolist() == [2]
    assert torch.equal(info["final_obs"][2], seen["obs"][2])  # the terminal observation, not the reset one
    assert not torch.equal(obs[2], seen["obs"][2])
    others = [0, 1, 3]
    assert torch.equal(obs[others], seen["obs"][others])
    assert torch.equal(u.state()[others], seen["critic"][others])
    qpos_after = u.sim.sim.data.qpos
    assert torch.equal(qpos_after[others], seen["qpos_before_reset"][others])
    assert not torch.equal(qpos_after[2], seen["qpos_before_reset"][2])
    assert u.sim.episode_length_buf.tolist()[2] == 0
    assert info["final_info"]["episode_length"][2] == 4
    env.close()


def test_reset_mask_option_resets_a_subset():
    env = make("SmpSteeringG1-v0", num_envs=3)
    obs0, _ = env.reset(seed=0)
    env.step(torch.zeros(3, 29))
    qpos = env.unwrapped.sim.sim.data.qpos.clone()
    obs, _ = env.reset(options={"reset_mask": torch.tensor([False, True, False])})
    assert torch.equal(env.unwrapped.sim.sim.data.qpos[[0, 2]], qpos[[0, 2]])
    assert not torch.equal(env.unwrapped.sim.sim.data.qpos[1], qpos[1])
    env.close()


def test_step_before_reset_is_a_clear_error():
    env = make("SmpSteeringG1-v0", num_envs=1)
    with pytest.raises(RuntimeError, match="before reset"):
        env.step(torch.zeros(1, 29))
    env.close()
