"""What a task file provides to SmpVectorEnv (pure: no mjlab import here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from smp_gym.config import SimCfg, SmpRewardCfg


@dataclass(frozen=True, kw_only=True)
class SmpTermination:
    """End an episode when the motion looks unnatural: ``exp(-ws · raw_err) < threshold`` on
    *this* step's raw SDS error, after ``grace_steps`` steps of the episode."""

    threshold: float
    grace_steps: int


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    cfg_type: type
    """The task's config dataclass."""
    make_sim_cfg: Callable[[Any, SimCfg, float], Any]
    """(task cfg, sim options, episode length in s) -> a fresh mjlab ManagerBasedRlEnvCfg
    computing the task reward only."""
    reward: SmpRewardCfg = field(default_factory=SmpRewardCfg)
    """Default SMP reward settings for this task."""
    metrics: Callable[[Any], dict[str, Tensor]] | None = None
    """mjlab env -> per-env task metrics of this step (logged, averaged over episodes)."""
    smp_termination: Callable[[Any], SmpTermination | None] = lambda cfg: None
    """Task cfg -> SMP-based termination, if the task has one."""
