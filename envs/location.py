"""Location: walk to a world-frame xy goal (docs/reference.md#location).

A goal is placed 1-10 m from the robot at a uniform angle and re-drawn every 5-10 s; the
command (2) is the goal offset in the robot's heading frame. Reward ``exp(-0.25·|goal - xy|)``
(linear distance). Unlike the reference, a goal drawn at reset is placed around the robot's
*post-reset* position (read from qpos, which the reset has already written).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from mjlab.managers.command_manager import CommandTerm, CommandTermCfg
from mjlab.managers.observation_manager import ObservationTermCfg
from mjlab.managers.reward_manager import RewardTermCfg
from torch import Tensor

from smp_gym.config import SimCfg
from smp_gym.envs.common import check_range, to_heading_frame
from smp_gym.sim.g1 import base_cfg
from smp_gym.sim.io import root_pos_from_qpos
from smp_gym.task import Metric, TaskSpec

SUCCESS_RADIUS = 0.5


def location_reward(goal_xy: Tensor, root_xy: Tensor, scale: float) -> Tensor:
    """exp(-scale·|goal - root|). [N, 2], [N, 2] -> [N]."""
    return torch.exp(-scale * (goal_xy - root_xy).norm(dim=-1))


class LocationCommand(CommandTerm):
    cfg: LocationCommandCfg

    def __init__(self, cfg: LocationCommandCfg, env) -> None:
        super().__init__(cfg, env)
        self.robot = env.scene["robot"]
        self.goal_w = torch.zeros(self.num_envs, 2, device=self.device)
        self._command = torch.zeros(self.num_envs, 2, device=self.device)

    @property
    def command(self) -> Tensor:
        return self._command

    def _resample_command(self, env_ids: Tensor) -> None:
        n = len(env_ids)
        dist = torch.empty(n, device=self.device).uniform_(*self.cfg.distance_range)
        theta = torch.empty(n, device=self.device).uniform_(-math.pi, math.pi)
        root_xy = root_pos_from_qpos(self.robot)[env_ids, :2]  # valid before forward()
        self.goal_w[env_ids] = root_xy + dist[:, None] * torch.stack((theta.cos(), theta.sin()), -1)

    def _update_command(self, env_ids: Tensor | None) -> None:
        del env_ids
        offset = self.goal_w - self.robot.data.root_link_pos_w[:, :2]
        self._command[:] = to_heading_frame(offset, self.robot.data.heading_w)

    def _update_metrics(self) -> None:
        """Nothing: the task's metrics are declared in ``TASK.metrics``."""


@dataclass(kw_only=True)
class LocationCommandCfg(CommandTermCfg):
    distance_range: tuple[float, float] = (1.0, 10.0)

    def build(self, env) -> LocationCommand:
        return LocationCommand(self, env)


@dataclass(frozen=True, kw_only=True)
class LocationCfg:
    distance_range: tuple[float, float] = (1.0, 10.0)
    """Goal distance from the robot in m, drawn per goal."""
    resample_range_s: tuple[float, float] = (5.0, 10.0)
    """Seconds between goals."""
    position_scale: float = 0.25
    """s in exp(-s·|goal - xy|)."""

    def __post_init__(self) -> None:
        check_range("task.distance_range", self.distance_range, low=0.0)
        check_range("task.resample_range_s", self.resample_range_s, low=0.0)


def goal_reward(env, scale: float) -> Tensor:
    cmd = env.command_manager.get_term("location")
    return location_reward(cmd.goal_w, env.scene["robot"].data.root_link_pos_w[:, :2], scale)


def _command_obs(env) -> Tensor:
    return env.command_manager.get_command("location")


def make_sim_cfg(task: LocationCfg, sim: SimCfg, episode_length_s: float):
    cfg = base_cfg(sim, episode_length_s=episode_length_s)
    cfg.commands["location"] = LocationCommandCfg(
        resampling_time_range=tuple(task.resample_range_s),
        distance_range=tuple(task.distance_range),
    )
    for group in cfg.observations.values():
        group.terms["command"] = ObservationTermCfg(func=_command_obs)
    cfg.rewards = {
        "position": RewardTermCfg(
            func=goal_reward, weight=1.0, params={"scale": task.position_scale}
        )
    }
    return cfg


def goal_distance(env) -> Tensor:
    """Planar distance from the root to the current goal (m). Shape: [num_envs]."""
    cmd = env.command_manager.get_term("location")
    return (cmd.goal_w - env.scene["robot"].data.root_link_pos_w[:, :2]).norm(dim=-1)


def at_goal(env) -> Tensor:
    """1 within SUCCESS_RADIUS of the goal, else 0. Shape: [num_envs]."""
    return (goal_distance(env) < SUCCESS_RADIUS).float()


TASK = TaskSpec(
    cfg_type=LocationCfg,
    make_sim_cfg=make_sim_cfg,
    metrics=(
        Metric(
            name="goal_distance",
            fn=goal_distance,
            label="goal distance",
            unit="m",
            lower_is_better=True,
        ),
        Metric(name="at_goal", fn=at_goal, reduce="max", label="reached a goal", success=True),
    ),
)
