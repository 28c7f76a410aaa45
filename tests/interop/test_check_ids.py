"""The contract checker on our four ids in each autoreset mode (torch on the CPU, 2 envs, 0.1 s
episodes, so every mode's autoreset rules run twice per env)."""

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
    env.close()
