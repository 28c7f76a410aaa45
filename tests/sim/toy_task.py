"""A toy task written the way docs/adding_a_task.md says: stand still (one file)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from mjlab.managers.reward_manager import RewardTermCfg
from torch import Tensor

from smp_gym.config import SimCfg
from smp_gym.sim.g1 import base_cfg
from smp_gym.task import Metric, TaskSpec


@dataclass(frozen=True, kw_only=True)
class StillCfg:
    scale: float = 1.0
    """s in exp(-s·|v_xy|²)."""


def speed(env) -> Tensor:
    return env.scene["robot"].data.root_link_lin_vel_w[:, :2].norm(dim=-1)


def still(env, scale: float) -> Tensor:
    return torch.exp(-scale * speed(env).square())


def make_sim_cfg(task: StillCfg, sim: SimCfg, episode_length_s: float):
    cfg = base_cfg(sim, episode_length_s=episode_length_s)
    cfg.rewards = {"still": RewardTermCfg(func=still, weight=1.0, params={"scale": task.scale})}
    return cfg


TASK = TaskSpec(
    cfg_type=StillCfg,
    make_sim_cfg=make_sim_cfg,
    metrics=(Metric(name="speed", fn=speed, reduce="max", label="peak speed", unit="m/s"),),
)
