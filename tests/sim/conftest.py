"""Sim tests build real mjlab envs on CPU with a handful of envs and a small GSI pool."""

from __future__ import annotations

import gymnasium
import pytest
import torch

import smp_gym  # noqa: F401

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
