"""Gymnasium 1.x's own vector wrappers on the numpy side of the env, in NEXT_STEP (the mode every
VectorObservationWrapper and NormalizeObservation require). Gymnasium's SyncVectorEnv of Pendulum
runs the same stack as the control row."""

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers.vector import (
    ArrayConversion,
    ClipAction,
    DictInfoToList,
    NormalizeObservation,
    NormalizeReward,
    RecordEpisodeStatistics,
    TransformObservation,
)

from smp_gym.check import check_vector_env

pytestmark = pytest.mark.sim
N, LIMIT = 2, 5  # envs; steps per episode (0.1 s at 50 Hz, or Pendulum's max_episode_steps)


def smp_env(mode=AutoresetMode.NEXT_STEP):
    from tests.sim.conftest import make

    env = make(
        "SmpSteeringG1-v0",
        num_envs=N,
        episode_length_s=0.1,
        autoreset_mode=mode,
        gsi={"init": "default"},
        sim={"push_robot": False},
    )
    return ArrayConversion(env, env_xp=torch, target_xp=np)


def pendulum_env():
    return gymnasium.make_vec(
        "Pendulum-v1",
        num_envs=N,
        vectorization_mode="sync",
        max_episode_steps=LIMIT,
        vector_kwargs={"autoreset_mode": AutoresetMode.NEXT_STEP},
    )


def stack(env):
    env = ClipAction(RecordEpisodeStatistics(env))
    env = NormalizeObservation(env)
    box = gymnasium.spaces.Box(-5.0, 5.0, env.single_observation_space.shape, np.float32)
    env = TransformObservation(
        env,
        lambda obs: np.clip(obs, -5.0, 5.0).astype(np.float32),
        gymnasium.vector.utils.batch_space(box, N),
        box,
    )
    return DictInfoToList(NormalizeReward(env))


@pytest.mark.parametrize(
    "make_env", [pendulum_env, smp_env], ids=["gymnasium-sync-Pendulum", "SmpSteeringG1"]
)
def test_wrapper_stack_through_episode_ends(make_env):
    env = stack(make_env())
    obs, infos = env.reset(seed=0)
    assert isinstance(obs, np.ndarray) and obs.dtype == np.float32 and obs.shape[0] == N
    rng, ended_before, episodes = np.random.default_rng(0), np.zeros(N, dtype=bool), []
    for _ in range(
        2 * (LIMIT + 1) + 1
    ):  # two episodes of LIMIT steps, each followed by the reset step
        actions = rng.uniform(-3.0, 3.0, env.action_space.shape).astype(
            np.float32
        )  # ClipAction clips them
        obs, reward, terminated, truncated, infos = env.step(actions)
        assert isinstance(obs, np.ndarray) and obs.dtype == np.float32 and np.abs(obs).max() <= 5.0
        assert isinstance(reward, np.ndarray) and isinstance(infos, list) and len(infos) == N
        for i in np.flatnonzero(
            ended_before
        ):  # NEXT_STEP: the reset step (NormalizeReward keeps 0 at 0)
            assert (
                reward[i] == 0.0
                and not terminated[i]
                and not truncated[i]
                and "episode" not in infos[i]
            )
        done = terminated | truncated
        for i in np.flatnonzero(done):
            assert truncated[i] and infos[i]["episode"]["l"] == LIMIT
            episodes.append(float(infos[i]["episode"]["r"]))
        ended_before = done
    assert len(episodes) == 2 * N and np.isfinite(episodes).all()
    env.close()


def test_checker_passes_on_the_numpy_side_in_next_step():
    env = smp_env()
    report = check_vector_env(env, steps=12, min_episode_ends=N)
    assert (
        report.autoreset_mode is AutoresetMode.NEXT_STEP and report.episode_ends == 2 * N
    )  # ends at 5, 11
    env.close()


def test_observation_wrappers_refuse_same_step_and_name_the_modes():
    from tests.sim.conftest import make

    env = ArrayConversion(
        make("SmpSteeringG1-v0", num_envs=N), env_xp=torch, target_xp=np
    )  # default: SAME_STEP
    with pytest.raises(ValueError, match="NEXT_STEP or DISABLED"):
        NormalizeObservation(env)
    env.close()
