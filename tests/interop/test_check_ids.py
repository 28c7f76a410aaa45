"""The contract checker on our five ids in each autoreset mode (torch on the CPU, 2 envs, 0.1 s
episodes, so every mode's autoreset rules run twice per env): Gymnasium's keys exactly where
SyncVectorEnv puts them, flat per-step info, smp_episode statistics on every ending step, and in
NEXT_STEP the reset step's info compared across two actions."""

import pytest
from gymnasium.vector import AutoresetMode

from smp_gym.check import check_vector_env
from smp_gym.registry import TASKS
from tests.sim.conftest import make

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=[m.value for m in AutoresetMode])
@pytest.mark.parametrize("env_id", list(TASKS))
def test_checker_passes(env_id, mode):
    env = make(
        env_id,
        num_envs=2,
        episode_length_s=0.1,
        autoreset_mode=mode.value,
        gsi={"pool_size": 16, "batch_size": 16},
    )
    assert (
        env.autoreset_mode is env.metadata["autoreset_mode"] is mode
    )  # the string value gives the enum
    report = check_vector_env(env, steps=12, min_episode_ends=4)
    assert report.autoreset_mode is mode
    if mode is AutoresetMode.NEXT_STEP:  # the reset-step info rule ran on at least one env
        assert report.restarts_compared >= 1
    env.close()
