"""Terminations in a real env (docs/reference.md#shared-terminations, docs/reference.md#getup):
states are written into the simulator and the physics runs; no fake contact lists.

- ``base_too_low``: root z < 0.3 m ends the episode (Forward, Steering, Location; not Getup).
- ``self_collision``: a contact between two robot bodies ends it (not in Getup).
- Getup's ``stood_up``: head >= 1.2 m and root speed < 0.5 m/s for 25 consecutive steps is a
  truncation (success), and its counter starts from 0 in every episode. mjlab 1.6 resets it:
  ``TerminationManager._prepare_terms`` keeps every class term with a callable ``reset`` and
  ``TerminationManager.reset`` (run by ``ManagerBasedRlEnv._reset_idx``) calls it for the reset
  envs.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.sim.conftest import make

pytestmark = pytest.mark.sim

QUIET = {"push_robot": False, "domain_randomization": False, "observation_noise": False}
UPRIGHT = [1.0, 0.0, 0.0, 0.0]
ON_ITS_BACK = [math.cos(-math.pi / 4), 0.0, math.sin(-math.pi / 4), 0.0]  # -90° about y: chest up


def write_state(env, root_z, quats, lin_vel=None, joint_pos=None) -> None:
    """Write env-local root height/orientation (x = y = 0), root velocity (world; default at
    rest) and joint positions (default: the knees-bent keyframe), joints at rest."""
    sim = env.unwrapped.sim
    robot = sim.scene["robot"]
    n = env.num_envs
    pos = torch.zeros(n, 3)
    pos[:, 2] = torch.tensor(root_z)
    vel = torch.zeros(n, 6)
    if lin_vel is not None:
        vel[:, :3] = torch.tensor(lin_vel)
    state = torch.cat((pos + sim.scene.env_origins, torch.tensor(quats), vel), -1)
    robot.write_root_state_to_sim(state)
    jp = robot.data.default_joint_pos.clone() if joint_pos is None else joint_pos
    robot.write_joint_state_to_sim(jp, torch.zeros_like(jp))


def zeros(env) -> torch.Tensor:
    return torch.zeros(env.num_envs, env.single_action_space.shape[0])


@pytest.fixture(scope="module")
def steering():
    env = make("SmpSteeringG1-v0", num_envs=2, gsi={"init": "default"}, sim=QUIET)
    yield env
    env.close()


@pytest.mark.parametrize(("low", "high"), [(0.2, 0.76), (0.27, 0.34)])
def test_base_too_low_terminates_below_0_3_m(steering, low, high):
    """Env 0 lies on its back with the pelvis at ``low`` (< 0.3 m), env 1 at ``high`` (> 0.3 m:
    standing, or lying just above the threshold). One step of physics (20 ms) moves them by
    millimetres."""
    env = steering
    env.reset(seed=0)
    quats = [ON_ITS_BACK, ON_ITS_BACK if high < 0.5 else UPRIGHT]
    write_state(env, [low, high], quats)
    _, _, terminated, truncated, info = env.step(zeros(env))
    tm = env.unwrapped.sim.termination_manager
    assert tm.get_term("base_too_low").tolist() == [True, False]
    assert tm.get_term("self_collision").tolist() == [False, False]
    assert terminated.tolist() == [True, False] and truncated.tolist() == [False, False]
    assert info["_final_info"].tolist() == [True, False] and bool(info["smp_episode/terminated"][0])


def crossed_knees(env) -> torch.Tensor:
    """Default joint positions with both hips rolled 0.5 rad inwards: the legs cross, so the knee
    and shin geoms of the two legs interpenetrate (wrist links are not involved)."""
    robot = env.unwrapped.sim.scene["robot"]
    jp = robot.data.default_joint_pos.clone()
    jp[0, robot.joint_names.index("left_hip_roll_joint")] = -0.5
    jp[0, robot.joint_names.index("right_hip_roll_joint")] = 0.5
    return jp


def test_self_collision_terminates_on_legs_in_contact(steering):
    env = steering
    env.reset(seed=0)
    write_state(env, [0.76, 0.76], [UPRIGHT, UPRIGHT], joint_pos=crossed_knees(env))
    _, _, terminated, truncated, _ = env.step(zeros(env))
    tm = env.unwrapped.sim.termination_manager
    assert tm.get_term("self_collision").tolist() == [True, False]
    assert tm.get_term("base_too_low").tolist() == [False, False]
    assert terminated.tolist() == [True, False] and truncated.tolist() == [False, False]


@pytest.fixture(scope="module")
def getup():
    """Getup without its SMP termination (the written states are not the prior's motion)."""
    env = make(
        "SmpGetupG1-v0",
        num_envs=3,
        task={"smp_termination_threshold": None},
        gsi={"init": "default"},
        sim=QUIET,
    )
    yield env
    env.close()


def test_getup_has_neither_base_height_nor_self_collision_termination(getup):
    env = getup
    env.reset(seed=0)
    jp = crossed_knees(env)  # env 0: legs in contact; env 1: lying at 0.2 m; env 2: standing
    write_state(env, [0.76, 0.2, 0.76], [UPRIGHT, ON_ITS_BACK, UPRIGHT], joint_pos=jp)
    _, _, terminated, truncated, _ = env.step(zeros(env))
    assert set(env.unwrapped.sim.termination_manager.active_terms) == {"time_out", "stood_up"}
    assert terminated.tolist() == [False, False, False] and truncated.tolist() == [
        False,
        False,
        False,
    ]


def test_getup_stood_up_is_a_truncation_after_25_steps_and_restarts_each_episode(getup):
    """Before every step each env's state is written: env 0 standing (head at 0.77 + 0.474 m
    >= 1.2, at rest) throughout; env 1 standing except lying at step 10 (counter back to 0);
    env 2 standing but moving at 1 m/s (never counts). Expected truncations, by hand:
    env 0 at steps 25 and 50 (the second episode counts from 0 again), env 1 at 10 + 25 = 35."""
    env = getup
    env.reset(seed=0)
    ends = {0: [], 1: [], 2: []}
    for step in range(1, 56):
        lying = step == 10
        write_state(
            env,
            [0.77, 0.2 if lying else 0.77, 0.77],
            [UPRIGHT, ON_ITS_BACK if lying else UPRIGHT, UPRIGHT],
            lin_vel=[[0, 0, 0], [0, 0, 0], [1.0, 0, 0]],
        )
        _, _, terminated, truncated, info = env.step(zeros(env))
        assert not terminated.any(), step
        for i in truncated.nonzero().flatten().tolist():
            ends[i].append(step)
            assert not bool(info["smp_episode/terminated"][i])
            assert int(info["smp_episode/length"][i]) == step - (
                ends[i][-2] if len(ends[i]) > 1 else 0
            )
    assert ends == {0: [25, 50], 1: [35], 2: []}
