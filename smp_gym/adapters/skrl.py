"""A torch-native skrl wrapper for SmpVectorEnv (no numpy round-trip, no double reset).

skrl's ``gymnasium`` wrapper copies actions through host numpy every step and its
``mani-skill`` wrapper resets done envs a second time and drops the critic state; this one
passes tensors straight through, exposes the critic observations as ``state()`` and turns the
env's per-env info into the 0-d tensors skrl logs (``TrainerCfg.environment_info="log"``).
"""

from __future__ import annotations

from typing import Any

import torch
from skrl.envs.wrappers.torch.base import Wrapper

from smp_gym.adapters.common import require_same_step, scalar_logs

LOG_KEY = "log"


class SmpSkrlWrapper(Wrapper):
    """Wrap an SmpVectorEnv (or a Gymnasium vector wrapper around one) for skrl agents/trainers."""

    def __init__(self, env: Any) -> None:
        require_same_step(env, "skrl")
        super().__init__(env)
        self._reset_once = True
        self._obs: torch.Tensor | None = None
        self._info: dict = {}

    @property
    def observation_space(self):
        return self._unwrapped.single_observation_space

    @property
    def action_space(self):
        return self._unwrapped.single_action_space

    @property
    def state_space(self):
        return self._unwrapped.single_state_space

    def reset(self) -> tuple[torch.Tensor, dict[str, Any]]:
        # Vector envs auto-reset: reset once, then hand back the latest observations.
        if self._reset_once:
            self._obs, self._info = self._env.reset()
            self._reset_once = False
        return self._obs, self._info

    def step(self, actions: torch.Tensor):
        obs, reward, terminated, truncated, info = self._env.step(actions)
        info[LOG_KEY] = scalar_logs(info)
        self._obs = obs
        return obs, reward.view(-1, 1), terminated.view(-1, 1), truncated.view(-1, 1), info

    def state(self) -> torch.Tensor:
        return self._unwrapped.state()

    def render(self, *args, **kwargs) -> Any:
        return self._env.render()

    def close(self) -> None:
        self._env.close()
