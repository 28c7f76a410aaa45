"""All ids are registered on ``import smp_gym`` with a vector entry point; bad calls fail fast.

The expected table is written out from README's task table, docs/reference.md#episode-lengths (20 s episodes,
Getup 5 s) and issue 13 (Dodgeball: the locomotion prior, 20 s), never read back from the
registry under test.
"""

import gymnasium
import pytest

import smp_gym
from smp_gym.errors import ConfigError
from smp_gym.registry import TASKS, task_info

EXPECTED = {  # id: (short name, default prior, episode length in s)
    "SmpForwardG1-v0": ("forward", "forward", 20.0),
    "SmpSteeringG1-v0": ("steering", "locomotion", 20.0),
    "SmpLocationG1-v0": ("location", "locomotion", 20.0),
    "SmpGetupG1-v0": ("getup", "getup", 5.0),
    "SmpDodgeballG1-v0": ("dodgeball", "locomotion", 20.0),
}
# Steps per episode (length / 0.02 s) are pinned on built envs: tests/sim/test_reward_pinned.py.


def test_exactly_the_documented_ids():
    assert sorted(TASKS) == sorted(EXPECTED)
    assert sorted(i for i in gymnasium.registry if i.startswith("Smp")) == sorted(EXPECTED)


@pytest.mark.parametrize("env_id", sorted(EXPECTED))
def test_registered_with_vector_entry_point_and_the_documented_defaults(env_id):
    name, prior, length_s = EXPECTED[env_id]
    spec = gymnasium.spec(env_id)
    assert spec.vector_entry_point == "smp_gym.make:make_vec" and spec.entry_point is None
    # Episode length belongs to the task (its episode_length_s and the sim's dt), so the
    # registration does not make gymnasium inject a max_episode_steps guess.
    assert spec.max_episode_steps is None
    info = task_info(env_id)
    assert (info.id, info.name, info.default_prior, info.episode_length_s) == (
        env_id,
        name,
        prior,
        length_s,
    )
    assert info.module == f"smp_gym.envs.{name}"
    assert task_info(name) is info  # short names resolve to the same row


def test_make_vec_rejects_bad_arguments_before_building_anything():
    with pytest.raises(ConfigError, match="unknown override"):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=2, not_a_key=1)
    with pytest.raises(gymnasium.error.Error):
        gymnasium.make_vec("SmpNopeG1-v0", num_envs=2)
    with pytest.raises(ConfigError, match="max_episode_steps=10 and episode_length_s=3.0"):
        gymnasium.make_vec(
            "SmpSteeringG1-v0", num_envs=2, max_episode_steps=10, episode_length_s=3.0
        )
    with pytest.raises(ConfigError, match="valid ids"):
        task_info("SmpNope")
    assert smp_gym.__version__
