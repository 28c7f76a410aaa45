"""All ids are registered on ``import smp_gym`` with a vector entry point; bad calls fail fast."""

import gymnasium
import pytest

import smp_gym
from smp_gym.errors import ConfigError
from smp_gym.registry import TASKS


@pytest.mark.parametrize("env_id", list(TASKS))
def test_registered_with_vector_entry_point(env_id):
    spec = gymnasium.spec(env_id)
    assert spec.vector_entry_point == "smp_gym.make:make_vec" and spec.entry_point is None
    # Episode length belongs to the task (its episode_length_s and the sim's dt), so the
    # registration does not make gymnasium inject a max_episode_steps guess.
    assert spec.max_episode_steps is None


def test_make_vec_rejects_bad_arguments_before_building_anything():
    with pytest.raises(ConfigError, match="unknown override"):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=2, not_a_key=1)
    with pytest.raises(gymnasium.error.Error):
        gymnasium.make_vec("SmpNopeG1-v0", num_envs=2)
    with pytest.raises(ConfigError, match="max_episode_steps=10 and episode_length_s=3.0"):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=2, max_episode_steps=10, episode_length_s=3.0)
    assert smp_gym.__version__
