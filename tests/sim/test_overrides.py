"""Overrides reach the env as merges into the task's defaults; the SMP termination keeps its own ws."""

import pytest

from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def test_reward_override_keeps_location_ws_and_getup_termination_ws():
    env = make("SmpLocationG1-v0", num_envs=1, reward={"mode": "weighted_sum"})
    assert env.unwrapped.reward.cfg.ws == 4.0 and env.unwrapped.reward.cfg.mode == "weighted_sum"
    env.close()
    env = make("SmpGetupG1-v0", num_envs=1, reward={"ws": 2.0})
    t = env.unwrapped.reward.termination
    assert env.unwrapped.reward.cfg.ws == 2.0
    # docs/reference.md#getup: smp_too_low(threshold=0.02, ws=6.0, grace_steps=5), independent of the reward.
    assert (t.ws, t.threshold, t.grace_steps) == (6.0, 0.02, 5)
    env.close()
