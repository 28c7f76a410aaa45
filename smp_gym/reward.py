"""The SMP reward and its combination with the task reward (pure functions)."""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.config import SmpRewardCfg


def smp_reward(err: Tensor, ws: float) -> Tensor:
    """``exp(-ws · mean_k err_k)``. err: [N, K] (normalized or raw SDS errors) -> [N] in (0, 1]."""
    return torch.exp(-ws * err.mean(dim=-1))


def combine(task: Tensor, smp: Tensor, cfg: SmpRewardCfg) -> Tensor:
    """``task × smp`` (mode ``product``) or ``task_weight·task + smp_weight·smp``. Shapes: [N]."""
    if cfg.mode == "product":
        return task * smp
    return cfg.task_weight * task + cfg.smp_weight * smp
