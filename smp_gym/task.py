"""What a task file provides to SmpVectorEnv (pure: no mjlab import here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor

from smp_gym.config import SimCfg
from smp_gym.errors import ConfigError

Reduce = Literal["mean", "last", "max", "sum"]


@dataclass(frozen=True, kw_only=True)
class SmpTermination:
    """End an episode when the motion looks unnatural: ``exp(-ws · raw_err) < threshold`` on
    *this* step's raw SDS error, after ``grace_steps`` steps of the episode. ``ws`` is the
    termination's own scale (the reference's 6), independent of the reward's ws."""

    threshold: float
    grace_steps: int
    ws: float = 6.0


@dataclass(frozen=True, kw_only=True)
class Metric:
    """A task metric: computed every step, reduced over each episode as declared (as mjlab's
    ``MetricsTermCfg``). ``info[f"metric_{name}"]`` holds this step's value per env,
    ``info[f"smp_episode/{name}"]`` the episode's reduced value; ``smp-gym eval`` and
    ``smp-gym curves`` label and aggregate them from this declaration."""

    name: str
    fn: Callable[[Any], Tensor]
    """mjlab env -> this step's value per env. Shape: [num_envs]."""
    reduce: Reduce = "mean"
    """``mean`` over the episode's steps, the ``last`` step's value, the ``max``, or the ``sum``."""
    label: str = ""
    """Human-readable name for tables and plots (default: ``name``)."""
    unit: str = ""
    success: bool = False
    """The episode value (in [0, 1]) is the task's success measure; eval reports its mean as the
    success rate."""
    lower_is_better: bool = False

    def __post_init__(self) -> None:
        if self.reduce not in ("mean", "last", "max", "sum"):
            raise ConfigError(
                f"Metric {self.name!r}.reduce: received {self.reduce!r}; use 'mean', "
                "'last', 'max' or 'sum'."
            )

    @property
    def title(self) -> str:
        return (self.label or self.name) + (f" [{self.unit}]" if self.unit else "")


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    cfg_type: type
    """The task's config dataclass."""
    make_sim_cfg: Callable[[Any, SimCfg, float], Any]
    """(task cfg, sim options, episode length in s) -> a fresh mjlab ManagerBasedRlEnvCfg
    computing the task reward only."""
    metrics: tuple[Metric, ...] = ()
    """Task metrics (logged per step, reduced per episode as declared)."""
    smp_termination: Callable[[Any], SmpTermination | None] = lambda cfg: None
    """Task cfg -> SMP-based termination, if the task has one."""

    def __post_init__(self) -> None:
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            raise ConfigError(f"TaskSpec.metrics: duplicate metric names in {names}.")

    @property
    def metric_specs(self) -> dict[str, Metric]:
        return {m.name: m for m in self.metrics}
