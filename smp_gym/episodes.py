"""Per-env episode statistics: returns, the reward decomposition and the task's declared metrics,
accumulated every step and reduced as each ``Metric`` declares. Pure torch."""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.errors import ConfigError
from smp_gym.task import Metric

STAT_KEYS = ("return", "length", "task_return", "smp_reward", "sds_error", "terminated")
"""The statistics of every episode, ``info["smp_episode/<stat>"]`` (declared task metrics follow).
Flat keys, not a nested dict: TorchRL's info reader cannot infer a spec for a nested dict."""
PREFIX = "smp_episode/"
MASK = "_smp_episode/length"
"""Each statistic has Gymnasium's mask ``_smp_episode/<stat>`` (all equal: the ended envs)."""
METRIC = "metric_"
"""Per-step task metrics are ``info["metric_<name>"]``."""


class EpisodeStats:
    """Running sums of the current episode of every env. Buffers: [num_envs] each."""

    def __init__(self, num_envs: int, metrics: tuple[Metric, ...], device: torch.device) -> None:
        z = lambda: torch.zeros(num_envs, device=device)  # noqa: E731
        clash = sorted({m.name for m in metrics} & set(STAT_KEYS))
        if clash:
            raise ConfigError(
                f"task metrics {clash}: these names are episode statistics of their own "
                f"({', '.join(STAT_KEYS)}); rename the metric."
            )
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
            v, acc = torch.nan_to_num(info[METRIC + m.name].float()), self.values[m.name]
            if m.reduce in ("mean", "sum"):
                acc += v
            elif m.reduce == "last":
                acc.copy_(v)
            else:  # max
                torch.where(first, v, torch.maximum(acc, v), out=acc)

    def reset(self, env_ids: Tensor) -> None:
        for buf in (*self.sums.values(), *self.values.values()):
            buf[env_ids] = 0.0

    def final(self, terminated: Tensor) -> dict[str, Tensor]:
        """Episode statistics of every env, read where the episode ended: a flat
        dict of [num_envs] tensors keyed ``smp_episode/<stat>`` (``return``, ``length``,
        ``task_return``, mean ``smp_reward`` and ``sds_error``, ``terminated``, and each
        declared metric reduced as declared, by its name)."""
        s, length = self.sums, self.sums["length"].clamp_min(1)
        out = {
            "return": s["return"].clone(),
            "length": s["length"].long(),
            "task_return": s["task_return"].clone(),
            "smp_reward": s["smp_reward"] / length,
            "sds_error": s["sds_error"] / length,
            "terminated": terminated.clone(),
        }
        for m in self.metrics:
            v = self.values[m.name]
            out[m.name] = v / length if m.reduce == "mean" else v.clone()
        return {f"{PREFIX}{k}": v for k, v in out.items()}


def episode_info(info: dict) -> dict[str, Tensor]:
    """The ``smp_episode/<stat>`` entries of a step's info, keyed by ``<stat>`` (empty on a step
    where no episode ended); valid where :func:`episode_mask` is True."""
    return {k[len(PREFIX) :]: v for k, v in info.items() if k.startswith(PREFIX)}


def episode_mask(info: dict) -> Tensor | None:
    """The envs whose episode ended at this step (``info["_smp_episode/length"]``; every
    ``_smp_episode/<stat>`` mask is the same), or None on a step where none did. [num_envs]."""
    return info.get(MASK)


def step_metrics(info: dict) -> dict[str, Tensor]:
    """This step's task metrics, ``info["metric_<name>"]``, keyed by ``<name>``."""
    return {k[len(METRIC) :]: v for k, v in info.items() if k.startswith(METRIC)}
