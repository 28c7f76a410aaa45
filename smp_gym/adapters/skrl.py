"""A torch-native skrl wrapper for SmpVectorEnv (no numpy round-trip, no double reset).

skrl's ``gymnasium`` wrapper copies actions through host numpy every step and its
``mani-skill`` wrapper resets done envs a second time and drops the critic state; this one
passes tensors straight through, exposes the critic observations as ``state()`` and turns the
env's per-env info into the 0-d tensors skrl logs (``TrainerCfg.environment_info="log"``).

The logs are summed on the device every step and handed over every ``log_interval`` steps as
means over the interval, in **one** device-to-host transfer: ``info["log"]`` then holds 0-d CPU
tensors (skrl's trainer calls ``.item()`` on each, which is free on the host). Steps in between
carry no ``info["log"]``: nothing there waits for the GPU.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from skrl.envs.wrappers.torch.base import Wrapper
from skrl.resources.preprocessors.torch import RunningStandardScaler

from smp_gym.adapters.common import LogAccumulator, require_same_step

LOG_KEY = "log"


class SmpSkrlWrapper(Wrapper):
    """Wrap an SmpVectorEnv (or a Gymnasium vector wrapper around one) for skrl agents/trainers."""

    def __init__(self, env: Any, log_interval: int = 24) -> None:
        """``log_interval``: steps between the ``info["log"]`` hand-overs (skrl's default PPO
        rollout length; set it to your agent's ``write_interval``)."""
        require_same_step(env, "skrl")
        if int(log_interval) < 1:
            raise ValueError(
                f"log_interval: received {log_interval}; expected a positive number of steps "
                "(e.g. the agent's rollouts or write_interval)."
            )
        super().__init__(env)
        self.log_interval = int(log_interval)
        self.logs = LogAccumulator()
        self._steps = 0
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
        self.logs.add(info)
        self._steps += 1
        if self._steps % self.log_interval == 0:
            info[LOG_KEY] = {k: torch.tensor(v) for k, v in self.logs.read().items()}
        self._obs = obs
        return obs, reward.view(-1, 1), terminated.view(-1, 1), truncated.view(-1, 1), info

    def state(self) -> torch.Tensor:
        return self._unwrapped.state()

    def render(self, *args, **kwargs) -> Any:
        return self._env.render()

    def close(self) -> None:
        self._env.close()


class SyncedStandardScaler(RunningStandardScaler):
    """skrl's ``RunningStandardScaler`` whose updates use the batches of **every** rank under
    ``torch.distributed`` (count, sum and sum of squares all-reduced before skrl's parallel-
    variance update), so every rank normalizes identically and rank 0's exported statistics
    are the whole run's. skrl 2.1.1's own scaler updates from the local batch only. Without a
    process group it is exactly ``RunningStandardScaler``."""

    def _compute(self, x: torch.Tensor, *, train: bool = False, inverse: bool = False):
        if train and dist.is_available() and dist.is_initialized():
            flat = x.reshape(-1, x.shape[-1]).double()
            count = torch.full((1,), flat.shape[0], dtype=flat.dtype, device=flat.device)
            moments = torch.cat((flat.sum(0), flat.square().sum(0), count))
            dist.all_reduce(moments)
            d = flat.shape[1]
            n = moments[-1]
            mean = moments[:d] / n
            var = (moments[d : 2 * d] - n * mean.square()) / (n - 1).clamp_min(1.0)  # as torch.var
            self._parallel_variance(mean, var, n)
            train = False
        return super()._compute(x, train=train, inverse=inverse)
