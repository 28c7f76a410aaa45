"""Dodgeball's launch geometry, hit rule and reward terms: pure tensor math against hand values.

It lives in tests/sim only because envs/dodgeball.py imports mjlab at module top (as every task
file does); nothing here builds a simulator.
"""

import math

import pytest
import torch

from smp_gym.envs.dodgeball import (
    DodgeballCfg,
    distance_reward,
    hit_rule,
    launch_velocity,
    passed,
    still_reward,
    velocity_change,
)

pytestmark = pytest.mark.sim

G = torch.tensor([0.0, 0.0, -9.81])
DT = 0.005  # MuJoCo's physics step in the G1 scene


def fly(p0, v0, t_end, target0, target_vel=(0.0, 0.0, 0.0)):
    """Semi-implicit Euler (MuJoCo's update: v += g·dt, then p += v·dt) by hand, 5 ms steps, for
    ``t_end`` + 0.1 s. Returns the closest distance between the ball and the target moving at
    constant velocity."""
    p, v, t, closest = list(p0), list(v0), 0.0, math.inf
    g = (0.0, 0.0, -9.81)
    while t < t_end + 0.1:
        v = [v[i] + g[i] * DT for i in range(3)]
        p = [p[i] + v[i] * DT for i in range(3)]
        t += DT
        tgt = [target0[i] + target_vel[i] * t for i in range(3)]
        closest = min(closest, math.dist(p, tgt))
    return closest


def test_stationary_target_velocity_by_hand():
    # Launch from (9, 0, 1.5) at a torso at (0, 0, 1) at rest, speed 12 m/s, no noise:
    # T = |(-9, 0, -0.5)| / 12 = sqrt(81.25) / 12 = 0.7511566 s
    # v_x = -9 / T = -11.981521; v_z = -0.5 / T + 0.5 * 9.81 * T = -0.665641 + 3.684423 = 3.018782
    v, t = launch_velocity(
        torch.tensor([[9.0, 0.0, 1.5]]),
        torch.tensor([[0.0, 0.0, 1.0]]),
        torch.zeros(1, 3),
        torch.tensor([12.0]),
        torch.zeros(1, 3),
        G,
    )
    assert t.item() == pytest.approx(0.7511566, abs=1e-6)
    assert v[0].tolist() == pytest.approx([-11.981521, 0.0, 3.018782], abs=1e-4)
    # Euler at 5 ms lags the exact parabola by 0.5·g·dt·T ≈ 0.018 m in z; steps are 0.06 m apart.
    assert fly((9.0, 0.0, 1.5), v[0].tolist(), t.item(), (0.0, 0.0, 1.0)) < 0.04


def test_moving_target_is_hit_within_the_aim_noise():
    # Torso at (0, 0, 1) walking at (1.5, -0.5, 0) m/s; launch from (-6, 6, 2) at 14 m/s.
    torso, torso_vel, start = (0.0, 0.0, 1.0), (1.5, -0.5, 0.0), (-6.0, 6.0, 2.0)
    t_hand = math.sqrt(6**2 + 6**2 + 1**2) / 14  # 0.6184 s; the torso moves 0.98 m meanwhile
    noise = (0.05, -0.08, 0.02)  # one aim error; |noise| = 0.0964 m
    v, t = launch_velocity(
        torch.tensor([start]),
        torch.tensor([torso]),
        torch.tensor([torso_vel]),
        torch.tensor([14.0]),
        torch.tensor([noise]),
        G,
    )
    assert t.item() == pytest.approx(t_hand, abs=1e-6)
    # The ball passes the moving torso within |noise| (+ Euler lag and step spacing); aiming
    # without lead would miss by about |torso_vel|·T = 0.98 m.
    closest = fly(start, v[0].tolist(), t_hand, torso, torso_vel)
    assert closest < math.hypot(*noise) + 0.04, closest
    v_nolead, _ = launch_velocity(
        torch.tensor([start]),
        torch.tensor([torso]),
        torch.zeros(1, 3),
        torch.tensor([14.0]),
        torch.zeros(1, 3),
        G,
    )
    closest_nolead = fly(start, v_nolead[0].tolist(), t_hand, torso, torso_vel)
    assert closest_nolead > 0.5


def test_aim_noise_spread_matches_its_std():
    # Misses at T are exactly the noise (closed-form flight p0 + v·T + g·T²/2): with N(0, 0.1²)
    # per axis their norm has the chi-3 mean 0.1·2·sqrt(2/π) = 0.15958.
    gen = torch.Generator().manual_seed(0)
    n = 4000
    start = torch.tensor([[8.0, 0.0, 2.0]]).expand(n, 3)
    torso, vel = (
        torch.tensor([[0.0, 0.0, 1.0]]).expand(n, 3),
        torch.tensor([[0.0, 1.0, 0.0]]).expand(n, 3),
    )
    noise = 0.1 * torch.randn(n, 3, generator=gen)
    v, t = launch_velocity(start, torso, vel, torch.full((n,), 13.0), noise, G)
    end = start + v * t[:, None] + 0.5 * G * t[:, None] ** 2
    miss = (end - (torso + vel * t[:, None])).norm(dim=-1)
    assert miss.mean().item() == pytest.approx(0.15958, abs=0.005)


def test_velocity_change_beyond_gravity():
    # Free flight over one 0.02 s step: v_z drops by 9.81 · 0.02 = 0.1962 -> change 0.
    prev = torch.tensor([[10.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    now = torch.tensor([[10.0, 0.0, -0.1962], [8.0, 0.0, -0.1962]])  # second: lost 2 m/s in x
    assert velocity_change(now, prev, G, 0.02).tolist() == pytest.approx([0.0, 2.0], abs=1e-5)


def test_hit_rule_cases():
    bodies = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 0.3]]).expand(5, 2, 3)
    ball = torch.tensor(
        [
            [0.5, 0.0, 1.0],  # 0.5 m from the first body
            [0.5, 0.0, 1.0],
            [0.5, 0.0, 1.0],
            [0.0, 0.9, 0.3],  # 0.9 m from the nearest body: never a hit
            [0.0, 0.79, 0.3],
        ]
    )  # 0.79 m: close enough
    force_xy = torch.tensor([0.0, 0.2, 0.05, 10.0, 0.0])
    dv = torch.tensor([2.0, 1.0, 1.0, 5.0, 1.6])
    # 0: dv 2 > 1.5; 1: force 0.2 > 0.1; 2: force 0.05 and dv 1 are both below; 3: too far; 4: dv
    assert hit_rule(ball, bodies, force_xy, dv).tolist() == [True, True, False, False, True]


def test_passed_means_moving_away_from_the_torso_in_xy():
    torso = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    ball = torch.tensor([[-1.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    vel = torch.tensor([[10.0, 0.0, -1.0], [10.0, 0.0, -1.0]])
    assert passed(ball, vel, torso).tolist() == [False, True]


def test_reward_terms_by_hand():
    cfg = DodgeballCfg()
    assert (cfg.distance_weight, cfg.distance_scale, cfg.still_weight) == (0.9, 0.3, 0.1)
    # d = 2 m: 1 - exp(-0.6) = 1 - 0.5488116 = 0.4511884
    # v_xy = (0.5, -0.5): exp(-(0.25 + 0.25)) = exp(-0.5) = 0.6065307
    # total 0.9 · 0.4511884 + 0.1 · 0.6065307 = 0.4060696 + 0.0606531 = 0.4667227
    d = distance_reward(torch.tensor([2.0, 0.0]), cfg.distance_scale)
    s = still_reward(torch.tensor([[0.5, -0.5], [0.0, 0.0]]))
    assert d.tolist() == pytest.approx([0.4511884, 0.0], abs=1e-6)
    assert s.tolist() == pytest.approx([0.6065307, 1.0], abs=1e-6)
    total = cfg.distance_weight * d[0] + cfg.still_weight * s[0]
    assert total.item() == pytest.approx(0.4667227, abs=1e-6)
