"""Autoreset modes. SAME_STEP: only the envs that ended reset, ``final_obs`` is the true terminal
observation, and every other env's state is untouched. NEXT_STEP: the next call resets them
(Gymnasium SyncVectorEnv semantics). DISABLED: only ``reset(options={'reset_mask': ...})``."""

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from smp_gym.errors import ConfigError
from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def _capture(env, monkeypatch):
    """Record what mjlab's step returned (pre-reset) and the sim state right before resets (the
    resets the env runs through smp_gym.sim.mjlab_bridge.reset_envs)."""
    from smp_gym.sim import mjlab_bridge

    u, seen = env.unwrapped, {}
    step, reset = u.sim.step, mjlab_bridge.reset_envs

    def step_spy(actions):
        out = step(actions)
        seen["obs"] = out[0]["actor"].clone()
        seen["critic"] = out[0]["critic"].clone()
        return out

    def reset_spy(sim, env_ids, **kwargs):
        seen["qpos_before_reset"] = u.sim.sim.data.qpos.clone()
        seen["reset_ids"] = env_ids.clone()
        return reset(sim, env_ids, **kwargs)

    u.sim.step = step_spy
    monkeypatch.setattr(mjlab_bridge, "reset_envs", reset_spy)
    return seen


def test_forced_termination_resets_only_that_env(monkeypatch):
    env = make(
        "SmpForwardG1-v0",
        num_envs=4,
        gsi={"init": "default"},
        sim={"observation_noise": False, "push_robot": False},
    )  # standing still: no falls
    u = env.unwrapped
    env.reset(seed=1)
    for _ in range(3):
        env.step(torch.zeros(4, 29))
    seen = _capture(env, monkeypatch)
    u.sim.episode_length_buf[2] = u.sim.max_episode_length - 1  # env 2 times out on the next step
    obs, reward, terminated, truncated, info = env.step(torch.zeros(4, 29))
    done = terminated | truncated
    assert done.tolist() == [False, False, True, False] and truncated[2]
    assert seen["reset_ids"].tolist() == [2]
    assert torch.equal(
        info["final_obs"][2], seen["obs"][2]
    )  # the terminal observation, not the reset one
    assert not torch.equal(obs[2], seen["obs"][2])
    others = [0, 1, 3]
    assert torch.equal(obs[others], seen["obs"][others])
    assert torch.equal(u.state()[others], seen["critic"][others])
    qpos_after = u.sim.sim.data.qpos
    assert torch.equal(qpos_after[others], seen["qpos_before_reset"][others])
    assert not torch.equal(qpos_after[2], seen["qpos_before_reset"][2])
    assert u.sim.episode_length_buf.tolist()[2] == 0
    assert info["smp_episode/length"][2] == 4
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


# ----------------------------------------------------------------------------- NEXT_STEP / DISABLED
def _timeout_env(mode, num_envs=4):
    env = make(
        "SmpForwardG1-v0",
        num_envs=num_envs,
        gsi={"init": "default"},
        autoreset_mode=mode,
        sim={"observation_noise": False, "push_robot": False},
    )
    env.reset(seed=1)
    for _ in range(3):
        env.step(torch.zeros(num_envs, 29))
    return env


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, "NextStep", "NEXT_STEP"])
def test_mode_spellings_and_metadata_agree(mode):
    env = make("SmpSteeringG1-v0", num_envs=1, autoreset_mode=mode)
    assert env.unwrapped.autoreset_mode is AutoresetMode.NEXT_STEP
    assert env.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert (
        type(env.unwrapped).metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    )  # class default kept
    env.close()


def test_next_step_returns_the_final_obs_then_the_reset_obs_with_zero_reward(monkeypatch):
    env = _timeout_env(AutoresetMode.NEXT_STEP)
    u = env.unwrapped
    seen = _capture(env, monkeypatch)
    u.sim.episode_length_buf[2] = u.sim.max_episode_length - 1  # env 2 times out on the next step
    obs, reward, terminated, truncated, info = env.step(torch.zeros(4, 29))
    assert truncated.tolist() == [False, False, True, False] and not terminated.any()
    assert "reset_ids" not in seen  # nothing reset in the step that ends the episode
    assert torch.equal(obs, seen["obs"])  # the true final observation, for every env
    # Gymnasium's SyncVectorEnv emits no final_* keys in NEXT_STEP; our statistics are there
    assert not {"final_obs", "_final_obs", "final_info", "_final_info"} & set(info)
    assert info["_smp_episode/length"].tolist() == [False, False, True, False]
    assert info["smp_episode/length"][2] == 4
    assert torch.equal(u.state(), seen["critic"])

    # The next call resets env 2: its first observation, reward 0, both flags False.
    normalizer_before = u.reward.normalizer.count.clone()
    obs, reward, terminated, truncated, info = env.step(torch.zeros(4, 29))
    assert seen["reset_ids"].tolist() == [2]
    assert reward[2] == 0 and not terminated[2] and not truncated[2]
    assert not {"final_info", "_smp_episode/length"} & set(info)
    assert not torch.equal(obs[2], seen["obs"][2])  # the stepped (discarded) obs was replaced
    assert torch.equal(obs[[0, 1, 3]], seen["obs"][[0, 1, 3]])
    assert u.sim.episode_length_buf[2] == 0 and u.sim.episode_length_buf[0] == 5
    assert torch.equal(
        u.reward.normalizer.count - normalizer_before, torch.full_like(normalizer_before, 3)
    )

    # The step after that is the new episode's first transition, from the reset state.
    env.step(torch.zeros(4, 29))
    assert u.sim.episode_length_buf[2] == 1 and u.episodes.sums["length"][2] == 1
    env.close()


def test_next_step_restart_step_carries_the_reset_info_not_the_discarded_steps():
    """SyncVectorEnv returns the reset's info for a restarting env: it has none of the step keys,
    so their entries are 0 (as SyncVectorEnv fills absent entries), whatever the action."""
    env = _timeout_env(AutoresetMode.NEXT_STEP)
    u = env.unwrapped
    u.sim.episode_length_buf[2] = u.sim.max_episode_length - 1
    env.step(torch.zeros(4, 29))  # env 2 ends
    _, reward, *_, info = env.step(torch.ones(4, 29))  # the action env 2's discarded step took
    keys = ["task_reward", "smp_reward", "sds_error", "nonfinite"]
    keys += [k for k in info if k[:7] == "metric_"]
    assert keys[-1] == "metric_vel_error"  # Forward's metric
    for key in keys:
        assert info[key][2] == 0, key
    assert (info["sds_error"][[0, 1, 3]] > 0).all() and (info["smp_reward"][[0, 1, 3]] > 0).all()
    env.close()


def test_next_step_keeps_the_reset_step_out_of_the_sds_normalizer():
    env = _timeout_env(AutoresetMode.NEXT_STEP, num_envs=2)
    u = env.unwrapped
    u.sim.episode_length_buf[1] = u.sim.max_episode_length - 1
    env.step(torch.zeros(2, 29))  # env 1 ends
    real = u.reward.scorer

    class Huge:  # env 1's (discarded) step looks wildly unnatural
        def __call__(self, features, generator=None):
            err = real(features, generator).clone()
            err[1] = 1e6
            return err

    u.reward.scorer = Huge()
    env.step(torch.zeros(2, 29))
    assert (u.reward.normalizer.mean < 1e3).all()  # env 1's 1e6 never entered the running mean
    env.close()


def test_disabled_never_resets_by_itself_and_resets_only_the_mask(monkeypatch):
    env = _timeout_env(AutoresetMode.DISABLED)
    u = env.unwrapped
    seen = _capture(env, monkeypatch)
    u.sim.episode_length_buf[2] = u.sim.max_episode_length - 1
    obs, _, _, truncated, info = env.step(torch.zeros(4, 29))
    assert truncated[2] and "reset_ids" not in seen
    assert not {"final_obs", "_final_obs", "final_info", "_final_info"} & set(info)
    assert info["_smp_episode/length"].tolist() == [False, False, True, False]
    assert info["smp_episode/length"][2] == 4 and info["smp_episode/terminated"][2] == 0
    assert torch.equal(obs, seen["obs"])
    with pytest.raises(
        RuntimeError, match=r"envs \[2\] ended and autoreset_mode is DISABLED.*reset_mask"
    ):
        env.step(torch.zeros(4, 29))
    qpos = u.sim.sim.data.qpos.clone()
    mask = np.array([False, False, True, False])
    obs_r, _ = env.reset(options={"reset_mask": mask})
    assert torch.equal(u.sim.sim.data.qpos[[0, 1, 3]], qpos[[0, 1, 3]])
    assert torch.equal(obs_r[[0, 1, 3]], obs[[0, 1, 3]])  # the others' observations are untouched
    assert u.sim.episode_length_buf[2] == 0 and u.sim.episode_length_buf[0] == 4
    env.step(torch.zeros(4, 29))  # stepping works again
    env.close()


@pytest.mark.parametrize(
    ("mask", "pattern"),
    [
        (
            np.array([True, False]),
            r"reset_mask: received ndarray of shape \(2,\) and dtype bool; expected .* \(3,\)",
        ),
        (np.array([1, 0, 1]), r"reset_mask: received ndarray of shape \(3,\) and dtype int64"),
        (torch.zeros(3, dtype=torch.bool), r"reset_mask: received all False"),
        ([True, False, True], r"reset_mask: received list"),
    ],
)
def test_bad_reset_mask_is_named(steering_env, mask, pattern):
    steering_env.reset(seed=0)
    with pytest.raises(ValueError, match=pattern):
        steering_env.reset(options={"reset_mask": mask})


def test_unknown_autoreset_mode_lists_the_three():
    with pytest.raises(
        ConfigError,
        match=r"autoreset_mode: received 'Sometimes'; use one of 'NextStep', "
        r"'SameStep', 'Disabled'",
    ):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=1, autoreset_mode="Sometimes")


def test_load_state_dict_names_what_is_malformed(steering_env):
    u = steering_env.unwrapped
    with pytest.raises(
        ConfigError,
        match=r"SmpVectorEnv.load_state_dict: received \['gsi'\]; expected .*'normalizer'",
    ):
        u.load_state_dict({"gsi": {}})
    with pytest.raises(
        ConfigError,
        match=r"SdsNormalizer.load_state_dict: received \{'mean': \(3,\)\}; "
        r"expected a dict \{'mean': Tensor\[3\], 'count': Tensor\[3\]\}",
    ):
        u.load_state_dict({"normalizer": {"mean": torch.ones(3)}})
    with pytest.raises(ConfigError, match=r"GsiPool.load_state_dict: received \['pool'\]"):
        u.load_state_dict(
            {"normalizer": u.reward.normalizer.state_dict(), "gsi": {"pool": u.gsi.pool}}
        )


def test_load_state_dict_takes_a_generator_state_moved_as_map_location_moves_it(steering_env):
    """``torch.load(..., map_location=...)`` moves the saved generator state (a CPU ByteTensor)
    to another device; conversions change its dtype. ``Generator.set_state`` takes only a CPU
    ByteTensor, on every device: the env converts it back, and the restored generator draws
    what the saved one would have."""
    u = steering_env.unwrapped
    state = u.state_dict()
    want = torch.randint(2**31, (4,), generator=u._generator)
    for moved in (state["generator"].to(torch.int64), state["generator"].to(torch.float64)):
        u.load_state_dict({**state, "generator": moved})
        assert torch.equal(torch.randint(2**31, (4,), generator=u._generator), want)
