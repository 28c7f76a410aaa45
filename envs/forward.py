"""Forward: walk, jog or run along world +x at a commanded speed (docs/reference.md#forward).

Reward: ``exp(-0.5·|v*·x̂ - v_xy|²)``, zero when moving backwards. The command is the steering
command with direction and facing fixed to world +x (so each episode's GSI start faces +x).
"""

from __future__ import annotations

from dataclasses import dataclass

from mjlab.managers.reward_manager import RewardTermCfg

from smp_gym.config import SimCfg
from smp_gym.envs.common import check_range
from smp_gym.envs.steering import VEL_ERROR, add_steering, command_velocity
from smp_gym.sim.g1 import base_cfg
from smp_gym.task import TaskSpec


@dataclass(frozen=True, kw_only=True)
class ForwardCfg:
    speed_range: tuple[float, float] = (0.5, 5.0)
    """Target speed range in m/s (the prior's data tops out near 3 m/s)."""
    resample_range_s: tuple[float, float] = (3.0, 8.0)
    """Seconds between speed resamples."""
    velocity_scale: float = 0.5
    """s in exp(-s·|v* x̂ - v|²)."""

    def __post_init__(self) -> None:
        check_range("task.speed_range", self.speed_range, low=0.0)
        check_range("task.resample_range_s", self.resample_range_s, low=0.0)


def make_sim_cfg(task: ForwardCfg, sim: SimCfg, episode_length_s: float):
    cfg = base_cfg(sim, episode_length_s=episode_length_s)
    add_steering(
        cfg,
        speed_range=task.speed_range,
        resample_range_s=task.resample_range_s,
        random_direction=False,
        random_facing=False,
    )
    cfg.rewards = {
        "velocity": RewardTermCfg(
            func=command_velocity, weight=1.0, params={"scale": task.velocity_scale}
        )
    }
    return cfg


TASK = TaskSpec(cfg_type=ForwardCfg, make_sim_cfg=make_sim_cfg, metrics=(VEL_ERROR,))
