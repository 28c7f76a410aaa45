"""Steering: track a commanded planar velocity while facing a commanded direction
(docs/reference.md#steering).

Reward: ``0.5 · velocity + 0.5 · facing`` with ``velocity = exp(-s·|v* d - v_xy|²)`` (zero when
moving against d) and ``facing = max(f · heading, 0)``. Command (5, heading frame): target
direction (2), target speed (1), facing direction (2). Forward reuses this command.
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
from smp_gym.task import Metric, TaskSpec


def velocity_reward(tar_dir: Tensor, tar_speed: Tensor, vel_xy: Tensor, scale: float) -> Tensor:
    """exp(-scale·|speed·dir - v|²), 0 when moving against ``dir``. [N,2],[N],[N,2] -> [N]."""
    err = (tar_speed[:, None] * tar_dir - vel_xy).square().sum(-1)
    r = torch.exp(-scale * err)
    return torch.where((tar_dir * vel_xy).sum(-1) < 0, torch.zeros_like(r), r)


def facing_reward(face_dir: Tensor, heading: Tensor) -> Tensor:
    """max(face_dir · (cos h, sin h), 0). [N, 2], [N] -> [N]."""
    return (face_dir[:, 0] * torch.cos(heading) + face_dir[:, 1] * torch.sin(heading)).clamp_min(0)


class SteeringCommand(CommandTerm):
    """Target direction and speed plus facing direction, resampled every few seconds."""

    cfg: SteeringCommandCfg

    def __init__(self, cfg: SteeringCommandCfg, env) -> None:
        super().__init__(cfg, env)
        self.robot = env.scene["robot"]
        self.tar_dir_w = torch.zeros(self.num_envs, 2, device=self.device)
        self.tar_dir_w[:, 0] = 1.0
        self.tar_speed = torch.zeros(self.num_envs, device=self.device)
        self.face_dir_w = self.tar_dir_w.clone()
        self._command = torch.zeros(self.num_envs, 5, device=self.device)

    @property
    def command(self) -> Tensor:
        return self._command

    @property
    def target_velocity_w(self) -> Tensor:
        return self.tar_speed[:, None] * self.tar_dir_w

    def _angle_dir(self, n: int) -> Tensor:
        theta = torch.empty(n, device=self.device).uniform_(-math.pi, math.pi)
        return torch.stack((torch.cos(theta), torch.sin(theta)), dim=-1)

    def _resample_command(self, env_ids: Tensor) -> None:
        n = len(env_ids)
        self.tar_speed[env_ids] = torch.empty(n, device=self.device).uniform_(*self.cfg.speed_range)
        if self.cfg.random_direction:
            self.tar_dir_w[env_ids] = self._angle_dir(n)
        self.face_dir_w[env_ids] = (
            self._angle_dir(n) if self.cfg.random_facing else self.tar_dir_w[env_ids]
        )

    def _update_command(self, env_ids: Tensor | None) -> None:
        del env_ids  # a pure function of the current state
        h = self.robot.data.heading_w
        self._command[:, 0:2] = to_heading_frame(self.tar_dir_w, h)
        self._command[:, 2] = self.tar_speed
        self._command[:, 3:5] = to_heading_frame(self.face_dir_w, h)

    def _update_metrics(self) -> None:
        """Nothing: the task's metrics are declared in ``TASK.metrics``."""


@dataclass(kw_only=True)
class SteeringCommandCfg(CommandTermCfg):
    speed_range: tuple[float, float] = (0.5, 2.0)
    random_direction: bool = True
    random_facing: bool = True

    def build(self, env) -> SteeringCommand:
        return SteeringCommand(self, env)


@dataclass(frozen=True, kw_only=True)
class SteeringCfg:
    speed_range: tuple[float, float] = (0.5, 2.0)
    """Target speed range in m/s, sampled per command."""
    resample_range_s: tuple[float, float] = (3.0, 8.0)
    """Seconds between command resamples."""
    random_facing: bool = True
    """Draw the facing direction independently of the travel direction (else face travel)."""
    velocity_weight: float = 0.5
    facing_weight: float = 0.5
    velocity_scale: float = 1.0
    """s in exp(-s·|v* d - v|²)."""

    def __post_init__(self) -> None:
        check_range("task.speed_range", self.speed_range, low=0.0)
        check_range("task.resample_range_s", self.resample_range_s, low=0.0)


def command_velocity(env, scale: float) -> Tensor:
    cmd = env.command_manager.get_term("steering")
    vel_xy = env.scene["robot"].data.root_link_lin_vel_w[:, :2]
    return velocity_reward(cmd.tar_dir_w, cmd.tar_speed, vel_xy, scale)


def command_facing(env) -> Tensor:
    cmd = env.command_manager.get_term("steering")
    return facing_reward(cmd.face_dir_w, env.scene["robot"].data.heading_w)


def add_steering(
    cfg, *, speed_range, resample_range_s, random_direction: bool, random_facing: bool
):
    """Add the steering command (and its observation) to a base mjlab config."""
    cfg.commands["steering"] = SteeringCommandCfg(
        resampling_time_range=tuple(resample_range_s),
        speed_range=tuple(speed_range),
        random_direction=random_direction,
        random_facing=random_facing,
    )
    for group in cfg.observations.values():
        group.terms["command"] = ObservationTermCfg(func=_command_obs)
    return cfg


def _command_obs(env) -> Tensor:
    return env.command_manager.get_command("steering")


def make_sim_cfg(task: SteeringCfg, sim: SimCfg, episode_length_s: float):
    cfg = base_cfg(sim, episode_length_s=episode_length_s)
    add_steering(
        cfg,
        speed_range=task.speed_range,
        resample_range_s=task.resample_range_s,
        random_direction=True,
        random_facing=task.random_facing,
    )
    cfg.rewards = {
        "velocity": RewardTermCfg(
            func=command_velocity,
            weight=task.velocity_weight,
            params={"scale": task.velocity_scale},
        ),
        "facing": RewardTermCfg(func=command_facing, weight=task.facing_weight),
    }
    return cfg


def velocity_error(env) -> Tensor:
    """|commanded - actual| planar root velocity (m/s). Shape: [num_envs]."""
    cmd = env.command_manager.get_term("steering")
    return (cmd.target_velocity_w - env.scene["robot"].data.root_link_lin_vel_w[:, :2]).norm(dim=-1)


def facing_error(env) -> Tensor:
    """1 - max(facing · heading, 0). Shape: [num_envs]."""
    cmd = env.command_manager.get_term("steering")
    return 1.0 - facing_reward(cmd.face_dir_w, env.scene["robot"].data.heading_w)


VEL_ERROR = Metric(
    name="vel_error", fn=velocity_error, label="velocity error", unit="m/s", lower_is_better=True
)
FACE_ERROR = Metric(name="face_error", fn=facing_error, label="facing error", lower_is_better=True)

TASK = TaskSpec(cfg_type=SteeringCfg, make_sim_cfg=make_sim_cfg, metrics=(VEL_ERROR, FACE_ERROR))
