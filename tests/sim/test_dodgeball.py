"""SmpDodgeballG1-v0 end to end on CPU: contract, hits on a G1 that does nothing, no hit from a
ball flying away, the ball never touching the ground, and the reward presets."""

import math

import pytest
import torch

from smp_gym.check import check_vector_env
from smp_gym.envs.dodgeball import WEIGHTED_SUM_PRESET
from tests.sim.conftest import make

pytestmark = pytest.mark.sim

ID = "SmpDodgeballG1-v0"
STANDING = {"gsi": {"init": "default"}, "sim": {"push_robot": False}}


def test_contract_with_the_weighted_sum_preset():
    env = make(ID, num_envs=2, reward=WEIGHTED_SUM_PRESET)
    r = env.unwrapped.reward.cfg
    assert (r.mode, r.task_weight, r.smp_weight, r.ws) == ("weighted_sum", 1.2, 0.6, 4.0)
    # The base proprioception (96, as Getup's) plus the ball (6); the critic has 10 steps of history.
    assert env.unwrapped.single_observation_space.shape == (102,)
    assert env.unwrapped.single_state_space.shape == (1020,)
    check_vector_env(env, steps=40)
    env.close()


def test_a_g1_that_does_nothing_gets_hit():
    # Without aim noise every first ball must hit (with the default 0.1 m per axis, a 3-sigma draw
    # can pass beside the 0.09 m torso capsule; the noise is pinned in test_dodgeball_math.py).
    env = make(ID, num_envs=3, task={"aim_noise": 0.0}, **STANDING)
    u = env.unwrapped
    assert (u.reward.cfg.mode, u.reward.cfg.ws) == ("product", 6.0)  # the default
    obs, _ = env.reset(seed=0)
    ball = obs[:, -6:]  # heading-frame ball position and velocity relative to the root
    assert ((ball[:, :2].norm(dim=-1) > 7.5) & (ball[:, :2].norm(dim=-1) < 10.5)).all(), ball
    assert (ball[:, 3:].norm(dim=-1) >= 12.0).all(), ball
    ended_by_hit = torch.zeros(3, dtype=torch.bool)
    for _ in range(60):  # flights last < 0.9 s = 45 steps
        _, _, terminated, truncated, info = env.step(torch.zeros(3, 29))
        hit = info["metric_hit"].bool()
        assert (terminated[hit]).all(), "a hit must end the episode"
        assert not truncated.any()
        if terminated.any():
            assert (info["smp_episode/hit"][terminated] == hit[terminated].float()).all()
            assert (info["smp_episode/dodges"][terminated & hit] == 0).all()
            ended_by_hit |= terminated & hit
    assert ended_by_hit.all(), f"envs not hit: {(~ended_by_hit).nonzero().flatten().tolist()}"
    env.close()


def _throw(u, env_ids, offset, vel):
    """Put the ball at torso + offset with velocity vel (world), as if it had been flying."""
    launcher, robot = u.sim.command_manager.get_term("ball"), u.sim.scene["robot"]
    d = launcher.ball.data.data
    torso = robot.data.body_link_pos_w[env_ids, launcher.torso]
    d.qpos[env_ids[:, None], launcher.q_adr[:3]] = torso + torch.tensor(offset)
    d.qvel[env_ids[:, None], launcher.v_adr[:3]] = torch.tensor(vel)
    u.sim.command_manager.compute(dt=0.0)  # end-of-step bookkeeping: previous velocity, command


def test_a_ball_flying_away_is_not_a_hit_and_falls_through_the_floor():
    env = make(ID, num_envs=2, **STANDING)
    u = env.unwrapped
    env.reset(seed=1)
    launcher = u.sim.command_manager.get_term("ball")
    # env 0: 1.2 m in front of the torso, flying away and down; env 1: same place, flying at it.
    _throw(u, torch.tensor([0]), (1.2, 0.0, 0.0), (10.0, 0.0, -8.0))
    _throw(u, torch.tensor([1]), (1.2, 0.0, 0.0), (-14.0, 0.0, 0.0))
    hits0, dodges0, min_z, env1_end = 0.0, 0.0, math.inf, None
    for _ in range(25):
        _, _, terminated, _, info = env.step(torch.zeros(2, 29))
        hits0 += info["metric_hit"][0].item()
        dodges0 += info["metric_dodges"][0].item()
        assert not terminated[0]
        if env1_end is None and terminated[1]:
            env1_end = bool(info["metric_hit"][1])
        pos, vel = launcher.ball_state()
        min_z = min(min_z, pos[0, 2].item())
        # Reward = 0.9·(1 - exp(-0.3·d)) + 0.1·exp(-|v_xy|²) (terms read one substep apart).
        d = (pos[0] - u.sim.scene["robot"].data.root_link_pos_w[0]).norm()
        v = u.sim.scene["robot"].data.root_link_lin_vel_w[0, :2]
        expected = 0.9 * (1 - torch.exp(-0.3 * d)) + 0.1 * torch.exp(-v.square().sum())
        assert info["task_reward"][0].item() == pytest.approx(expected.item(), abs=0.03)
    assert hits0 == 0 and dodges0 == 1  # passed once, never hit
    assert env1_end is True, "the ball thrown at the torso must end env 1's episode by a hit"
    # Env 0's ball went through the floor (no ground contact) and waits parked 1 m below it.
    pos, vel = launcher.ball_state()
    assert min_z < -0.9
    assert pos[0, 2].item() == pytest.approx(-1.0, abs=0.01) and vel[0].norm() < 0.25
    env.close()


def test_hit_and_dodge_have_one_owner_and_any_reading_order():
    """The launcher owns the flight's outcome and computes it once per env step: re-reading it
    after the step — the termination first, then the metrics, as a second reader would — returns
    what the step reported. (Before, the termination's detect() wrote the state the metrics read;
    evaluating it a second time marked the flight resolved and erased the step's dodge.)"""
    from smp_gym.envs.dodgeball import ball_hit, dodge_metric, hit_metric

    env = make(ID, num_envs=2, **STANDING)
    u = env.unwrapped
    env.reset(seed=1)
    _throw(u, torch.tensor([0]), (1.2, 0.0, 0.0), (10.0, 0.0, -8.0))  # flies away: one dodge
    _throw(u, torch.tensor([1]), (1.2, 0.0, 0.0), (-14.0, 0.0, 0.0))  # flies at it: a hit
    dodges, hits = 0.0, 0.0
    for _ in range(25):
        _, _, terminated, _, info = env.step(torch.zeros(2, 29))
        hit_again = ball_hit(u.sim).clone()
        dodge_again, hit_metric_again = dodge_metric(u.sim), hit_metric(u.sim)
        assert torch.equal(dodge_again, info["metric_dodges"])
        assert torch.equal(hit_metric_again, info["metric_hit"])
        assert torch.equal(hit_again.float(), info["metric_hit"])
        dodges += info["metric_dodges"][0].item()
        hits += info["metric_hit"][1].item()
    assert (dodges, hits) == (1.0, 1.0)
    env.close()


def test_a_launcher_step_makes_no_host_sync():
    """Issue 17 finding 1: the launcher's per-step code (launch, parking, command, hit/dodge)
    makes no host sync. Counted with smp_gym.tools.syncs.SyncCounter on the CPU, where every
    tensor stands for the GPU tensor it would be; each sync is attributed to the innermost line
    of our code, so mjlab helpers called from envs/dodgeball.py count too. The old code made two
    per step: qpos indexed with a 0-dim tensor address (.item()) and the launch quaternion built
    with torch.tensor(..., device=...) (a pageable host-to-device copy)."""
    from smp_gym.tools.syncs import SyncCounter

    env = make(ID, num_envs=2, validate_actions=False, **STANDING)
    u = env.unwrapped
    env.reset(seed=0)
    a = torch.zeros(2, 29)
    env.step(a)
    launcher = u.sim.command_manager.get_term("ball")
    with SyncCounter(cpu_is_device=True) as syncs:
        for _ in range(4):
            env.step(a)
        launcher._resample_command(torch.arange(2))  # a relaunch of every env inside the count
        launcher._update_command(None)
    env.close()
    assert syncs.total > 0  # the counter sees the rest of the step (mjlab's own syncs)
    mine = [
        f"{e.site} [{e.kind}]"
        for e in syncs.events
        if "envs/dodgeball.py" in e.site or (e.caller or "").startswith("envs/dodgeball.py")
    ]
    assert mine == []
