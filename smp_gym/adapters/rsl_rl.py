"""rsl_rl ``VecEnv`` over SmpVectorEnv: TensorDict observations {actor, critic}, ``time_outs``
for bootstrapping and the SMP reward decomposition under ``extras["log"]``. ``on_step`` (optional)
sees each step's raw info: rsl_rl's runner owns the loop, so this is where a progress bar hooks in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from smp_gym.adapters.common import require_same_step, scalar_logs


class SmpRslRlVecEnv(VecEnv):
    def __init__(self, env: Any, on_step: Callable[[dict], None] | None = None) -> None:
        require_same_step(env, "rsl_rl")
        self.env = env
        self.on_step = on_step
        self.unwrapped = env.unwrapped
        self.num_envs = self.unwrapped.num_envs
        self.device = self.unwrapped.device
        self.num_actions = self.unwrapped.single_action_space.shape[0]
        self.max_episode_length = self.unwrapped.max_episode_steps
        self.cfg = {"task": self.unwrapped.info.id}
        obs, _ = self.env.reset()  # rsl_rl never calls reset()
        self._obs = self._pack(obs)

    @property
    def episode_length_buf(self) -> torch.Tensor:
        return self.unwrapped.sim.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.unwrapped.sim.episode_length_buf = value

    def _pack(self, obs: torch.Tensor) -> TensorDict:
        return TensorDict(
            {"actor": obs, "critic": self.unwrapped.state()}, batch_size=[self.num_envs]
        )

    def get_observations(self) -> TensorDict:
        return self._obs

    def step(self, actions: torch.Tensor):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self._obs = self._pack(obs)
        if self.on_step is not None:
            self.on_step(info)
        extras = {
            "time_outs": truncated & ~terminated,
            "log": {
                "/" + k.replace(" / ", "/").replace(" ", "_"): v
                for k, v in scalar_logs(info).items()
            },
        }
        return self._obs, reward, (terminated | truncated).long(), extras

    def close(self) -> None:
        self.env.close()
