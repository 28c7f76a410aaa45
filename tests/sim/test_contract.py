"""The vector-env contract on all four ids (CPU, 2 envs)."""

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from smp_gym.registry import TASKS
from tests.sim.conftest import make, random_actions

pytestmark = pytest.mark.sim
STEP_KEYS = {"task_reward", "smp_reward", "sds_error", "nonfinite"}


@pytest.mark.parametrize("env_id", list(TASKS))
def test_spaces_rewards_and_autoreset_contract(env_id):
    env = make(env_id, num_envs=2, episode_length_s=0.3)
    u = env.unwrapped
    assert isinstance(u, gymnasium.vector.VectorEnv)
    assert u.metadata["autoreset_mode"] is AutoresetMode.SAME_STEP
    assert (
        np.isfinite(u.single_action_space.low).all()
        and np.isfinite(u.single_action_space.high).all()
    )
    obs, info = env.reset(seed=0)
    assert isinstance(obs, torch.Tensor) and obs.device.type == "cpu" and obs.dtype == torch.float32
    assert obs.shape == env.observation_space.shape == (2, *u.single_observation_space.shape)
    assert u.state().shape == u.state_space.shape and u.state().dtype == torch.float32
    g = torch.Generator().manual_seed(0)
    ended = 0
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(random_actions(env, g))
        assert obs.shape == env.observation_space.shape and torch.isfinite(obs).all()
        assert reward.shape == terminated.shape == truncated.shape == (2,)
        assert terminated.dtype == truncated.dtype == torch.bool and reward.dtype == torch.float32
        assert torch.isfinite(reward).all()
        # product mode, the default (docs/reference.md#reward-composition): reward = task × r_smp, both in [0, 1]
        assert torch.allclose(reward, info["task_reward"] * info["smp_reward"])
        assert ((info["task_reward"] >= 0) & (info["task_reward"] <= 1)).all()
        assert ((info["smp_reward"] > 0) & (info["smp_reward"] <= 1)).all()
        for key in ("task_reward", "smp_reward", "sds_error"):
            assert info[key].shape == (2,)
        done = terminated | truncated
        if done.any():
            ended += int(done.sum())
            assert torch.equal(info["_final_obs"], done) and info["final_obs"].shape == obs.shape
            assert torch.equal(info["_final_info"], done) and torch.equal(
                info["_smp_episode/length"], done
            )
            # final_info: the step's own keys (flat, no episode statistics), as SyncVectorEnv's
            # holds each ended sub-env's step info
            fin = info["final_info"]
            assert set(fin) == {k for k in info if k in STEP_KEYS or k.startswith("metric_")}
            assert STEP_KEYS - {"nonfinite"} < set(fin) and "smp_episode/return" in info
            assert (info["smp_episode/length"][done] >= 1).all()
        else:
            assert "final_obs" not in info
    assert ended >= 2  # 0.3 s episodes: every env ended at least once
    env.close()


@pytest.mark.parametrize("env_id", ["SmpSteeringG1-v0", "SmpGetupG1-v0"])
def test_vector_env_checker_passes_torch_and_numpy(env_id):
    from gymnasium.wrappers.vector import ArrayConversion

    from smp_gym.check import check_vector_env

    env = make(env_id, num_envs=2, episode_length_s=0.1, sim={"push_robot": False})
    check_vector_env(env, steps=12)
    check_vector_env(ArrayConversion(env, env_xp=torch, target_xp=np), steps=6)
    env.close()


def test_weighted_sum_mode(steering_env):
    env = make(
        "SmpSteeringG1-v0",
        num_envs=2,
        reward={"mode": "weighted_sum", "task_weight": 0.7, "smp_weight": 0.9, "ws": 4.0},
    )
    env.reset(seed=0)
    _, reward, *_, info = env.step(torch.zeros(2, 29))
    assert torch.allclose(reward, 0.7 * info["task_reward"] + 0.9 * info["smp_reward"])
    env.close()


def test_bad_actions_raise_with_expected_shape(steering_env):
    env = steering_env
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"received shape \(3, 28\); expected \(3, 29\)"):
        env.step(torch.zeros(3, 28))
    bad = torch.zeros(3, 29)
    bad[1, 4] = float("nan")
    with pytest.raises(
        ValueError,
        match=r"NaN/inf values for envs \[1\]; expected finite actions of shape \(3, 29\)",
    ):
        env.step(bad)
    bad[1, 4] = float("inf")
    with pytest.raises(ValueError, match="NaN/inf"):
        env.step(bad)
    # numpy, float64 and integer actions are converted; out-of-range actions are clipped to the space
    env.step(np.zeros((3, 29)))
    env.step(torch.zeros(3, 29, dtype=torch.float64))
    env.step(torch.zeros(3, 29, dtype=torch.int64))


def _targets(u):
    """The PD targets mjlab applies (it subtracts the startup encoder bias) and the joint
    ranges straight from the MuJoCo model, in the action term's joint order. [N, J], [J], [J]."""
    term = u.sim.action_manager.get_term("joint_pos")
    robot, ids = u.sim.scene["robot"], term.target_ids
    target = robot.data.joint_pos_target[:, ids] + robot.data.encoder_bias[:, ids]
    model = u.sim.sim.mj_model
    ranges = torch.tensor(
        [model.joint("robot/" + robot.joint_names[int(i)]).range for i in ids], dtype=torch.float32
    )
    return target, ranges[:, 0], ranges[:, 1]


def test_out_of_range_actions_are_clipped_before_they_reach_the_simulator(steering_env):
    """a = ±1e6 is clipped to the joint range's action, (q_max - offset)/scale (or q_min's), so
    the PD target mjlab writes is exactly the joint's upper (lower) limit."""
    env = steering_env
    env.reset(seed=0)
    u = env.unwrapped
    for sign, side in ((1.0, 2), (-1.0, 1)):
        env.step(torch.full((3, 29), sign * 1e6))
        limit = _targets(u)[side]
        assert torch.allclose(_targets(u)[0], limit.expand(3, -1), atol=1e-5)


def test_zero_action_is_the_default_pose_under_gymnasiums_rescaling_wrappers(steering_env):
    """The action space is symmetric and finite, so Gymnasium's RescaleAction and ClipAction map
    0 to 0: the PD target is the default pose (the action term's offset). Under
    RescaleAction(-1, 1), +1 / -1 put every joint on its upper / lower limit (docs/env_api.md)."""
    from gymnasium.wrappers.vector import ClipAction, RescaleAction

    u = steering_env.unwrapped
    space = u.single_action_space
    assert np.isfinite(space.high).all() and (space.high > 0).all()
    assert np.array_equal(space.low, -space.high)
    term = u.sim.action_manager.get_term("joint_pos")
    default = term.offset.expand(3, -1)
    zero = np.zeros((3, 29), dtype=np.float32)
    for wrapped in (RescaleAction(steering_env, -1.0, 1.0), ClipAction(steering_env)):
        wrapped.reset(seed=0)
        wrapped.step(zero)
        # 0 up to the float32 rounding of Gymnasium's affine map (~1e-6; asymmetric bounds
        # were up to 3.48 action units off)
        assert term.raw_action.abs().max() < 1e-5
        assert torch.allclose(_targets(u)[0], default, atol=1e-5)
    rescaled = RescaleAction(steering_env, -1.0, 1.0)
    for sign, side in ((1.0, 2), (-1.0, 1)):
        rescaled.step(zero + sign)
        target, *limits = _targets(u)
        assert torch.allclose(target, limits[side - 1].expand(3, -1), atol=1e-5)


def test_render_rgb_array():
    env = make("SmpSteeringG1-v0", num_envs=1, render_mode="rgb_array")
    env.reset(seed=0)
    env.step(torch.zeros(1, 29))
    frames = env.render()  # Gymnasium's vector contract: one frame per env
    assert len(frames) == 1
    frame = frames[0]
    assert frame.shape == (240, 320, 3) and frame.dtype == np.uint8 and frame.std() > 1.0
    env.close()
