"""Per-env episode statistics: returns, the reward decomposition and the task's declared metrics,
accumulated every step and reduced as each ``Metric`` declares. Pure torch."""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.task import Metric


class EpisodeStats:
    """Running sums of the current episode of every env. Buffers: [num_envs] each."""

    def __init__(self, num_envs: int, metrics: tuple[Metric, ...], device: torch.device) -> None:
        z = lambda: torch.zeros(num_envs, device=device)  # noqa: E731
        self.metrics = metrics
        self.sums = {
            "return": z(),
            "task_return": z(),
            "smp_reward": z(),
            "sds_error": z(),
            "length": z(),
        }
        self.values = {m.name: z() for m in metrics}

    def add(self, reward: Tensor, info: dict) -> None:
        """Fold one step in (NaN counts as 0)."""
        s = self.sums
        s["return"] += torch.nan_to_num(reward)
        s["task_return"] += torch.nan_to_num(info["task_reward"])
        s["smp_reward"] += torch.nan_to_num(info["smp_reward"])
        s["sds_error"] += torch.nan_to_num(info["sds_error"])
        s["length"] += 1
        first = s["length"] == 1
        for m in self.metrics:
            v, acc = torch.nan_to_num(info["metrics"][m.name].float()), self.values[m.name]
            if m.reduce in ("mean", "sum"):
                acc += v
            elif m.reduce == "last":
                acc.copy_(v)
            else:  # max
                torch.where(first, v, torch.maximum(acc, v), out=acc)

    def reset(self, env_ids: Tensor) -> None:
        for buf in (*self.sums.values(), *self.values.values()):
            buf[env_ids] = 0.0

    def final(self, terminated: Tensor) -> dict:
        """Episode statistics of every env (read where ``_final_info`` is True)."""
        s, length = self.sums, self.sums["length"].clamp_min(1)
        return {
            "episode_return": s["return"].clone(),
            "episode_length": s["length"].long(),
            "episode_task_return": s["task_return"].clone(),
            "episode_smp_reward": s["smp_reward"] / length,
            "episode_sds_error": s["sds_error"] / length,
            "terminated": terminated.clone(),
            "metrics": {
                m.name: self.values[m.name] / length
                if m.reduce == "mean"
                else self.values[m.name].clone()
                for m in self.metrics
            },
        }
