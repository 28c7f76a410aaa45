"""Sim tests build real mjlab envs on CPU with a handful of envs and a small GSI pool."""

from __future__ import annotations

import gc

import gymnasium
import mjlab.envs  # noqa: F401 - imported before the freeze below
import pytest
import torch

import smp_gym  # noqa: F401
import smp_gym.env  # noqa: F401
from smp_gym.registry import TASKS, TaskInfo, register

# Memory: a closed env's ~250 MB of MuJoCo/Warp buffers sit in reference cycles (mjlab's managers
# and terms point back at their env), which only a full gc pass frees, and Python rarely runs
# one: without it the suite grew by ~250 MB per env built, to 10.5 GB (docs/testing.md). So
# every sim test ends with gc.collect(). Freezing the objects that exist at collection (the
# imports; no env yet) first makes each pass scan only what tests allocated: ~0.2 s, not ~2 s.
gc.collect()
gc.freeze()


@pytest.fixture(autouse=True)
def _free_closed_envs():
    yield
    gc.collect()


SMALL_GSI = {"pool_size": 64, "batch_size": 64}


def make(env_id: str = "SmpSteeringG1-v0", num_envs: int = 3, **overrides):
    """A CPU env; ``overrides`` go to make_vec (``task=`` is the task config override)."""
    overrides.setdefault("gsi", SMALL_GSI)
    overrides.setdefault("seed", 0)
    return gymnasium.make_vec(env_id, num_envs=num_envs, device="cpu", **overrides)


def random_actions(env, generator: torch.Generator, scale: float = 0.3) -> torch.Tensor:
    return scale * torch.randn(env.num_envs, env.single_action_space.shape[0], generator=generator)


@pytest.fixture(scope="module")
def steering_env():
    env = make("SmpSteeringG1-v0", num_envs=3)
    yield env
    env.close()


@pytest.fixture
def toy_id(monkeypatch):
    """The documented toy task (tests/sim/toy_task.py) registered by one row, for one test."""
    monkeypatch.setattr("smp_gym.registry.TASKS", dict(TASKS))  # the row lives for this test only
    register(
        TaskInfo(
            id="SmpToyStillG1-v0",
            name="toy_still",
            module="tests.sim.toy_task",
            description="Stand still.",
            default_prior="locomotion",
            episode_length_s=0.2,
        )
    )
    yield "SmpToyStillG1-v0"
    gymnasium.registry.pop("SmpToyStillG1-v0", None)
