"""The DDPM schedule against docs/reference.md#ddpm-schedule (cosine β, T = 50), values written out by hand.

ᾱ(s) = cos²((s + 0.008)/1.008 · π/2), β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999), ᾱ_t = Π_{i≤t}(1 − β_i).
While no β is clipped (every i < 49), the product telescopes: ᾱ_t = ᾱ((t+1)/T) / ᾱ(0).
"""

import math

import pytest

from smp_gym.prior.schedule import DdpmSchedule

# the table in docs/reference.md#ddpm-schedule (verified against the reference scheduler), the reward timesteps K first.
SPEC = {  # t: (β_t, ᾱ_t, √(1−ᾱ_t))
    8: (0.017593, 0.916741, 0.288546),
    15: (0.033135, 0.760836, 0.489044),
    22: (0.052557, 0.556069, 0.666282),
    0: (0.001748, 0.998253, 0.041803),
    1: (0.003689, 0.99457, 0.073688),
    30: (0.085736, 0.31159, 0.829705),
    40: (0.184972, 0.07665, 0.960911),
    48: (0.749757, 0.000971, 0.999514),
    49: (0.999, 0.000001, 1.0),
}
TOL = 1e-6  # the table is rounded to 6 decimals; float32 adds < 1e-7 here


def _abar_fn(s: float) -> float:
    return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2


@pytest.fixture(scope="module")
def schedule() -> DdpmSchedule:
    return DdpmSchedule(50)


@pytest.mark.parametrize("t", sorted(SPEC))
def test_schedule_matches_the_spec_table(schedule, t):
    beta, abar, sqrt_one_minus = SPEC[t]
    assert float(schedule.betas[t]) == pytest.approx(beta, abs=TOL)
    assert float(schedule.alphas_cumprod[t]) == pytest.approx(abar, abs=TOL)
    assert float(schedule.sqrt_one_minus_alphas_cumprod[t]) == pytest.approx(
        sqrt_one_minus, abs=TOL
    )


def test_reward_timesteps_by_the_closed_form():
    """K = (8, 15, 22) written out: ᾱ_t = cos²(((t+1)/50 + 0.008)/1.008·π/2) / cos²(0.008/1.008·π/2)
    and β_t = 1 − ᾱ((t+1)/50)/ᾱ(t/50)."""
    s = DdpmSchedule(50)
    abar0 = math.cos(0.008 / 1.008 * math.pi / 2) ** 2  # 0.99984...
    for t, want in ((8, 0.916741), (15, 0.760836), (22, 0.556069)):
        by_hand = math.cos(((t + 1) / 50 + 0.008) / 1.008 * math.pi / 2) ** 2 / abar0
        assert by_hand == pytest.approx(want, abs=TOL)  # the closed form agrees with the table
        assert float(s.alphas_cumprod[t]) == pytest.approx(by_hand, rel=1e-6)
        beta = 1 - _abar_fn((t + 1) / 50) / _abar_fn(t / 50)
        assert float(s.betas[t]) == pytest.approx(beta, rel=1e-5)
    # The last β is clipped at 0.999 (unclipped it would be 1: ᾱ(1) = cos²(π/2) = 0).
    assert float(s.betas[49]) == pytest.approx(0.999, abs=1e-7)
    # ᾱ_prev is ᾱ shifted by one with a leading 1.
    assert float(s.alphas_cumprod_prev[0]) == 1.0
    assert float(s.alphas_cumprod_prev[9]) == pytest.approx(0.916741, abs=TOL)


def test_shipped_prior_carries_the_spec_schedule():
    from smp_gym.prior.checkpoint import load

    prior = load("locomotion", "cpu")
    assert prior.num_timesteps == 50
    for t in (8, 15, 22):
        assert float(prior.schedule.alphas_cumprod[t]) == pytest.approx(SPEC[t][1], abs=TOL)
