"""Getup: stand up from a fallen pose (docs/reference.md#getup).

Reward ``0.7 · upward + 0.3 · head_height`` on a ``head`` site 0.43 m above torso_link:
``upward = exp(-100·min(v_z - 0.25, 0)²)`` while the head is below 0.9 m (else 1) and
``head_height = exp(-min(z - 1.1, 0)²)``. Episodes last 5 s; no self-collision or base-height
termination. ``stood_up`` (head >= 1.2 m and root speed < 0.5 m/s for 25 steps) ends an
episode as a truncation (success). The SMP termination (``exp(-ws·raw_err) < 0.02`` after 5
steps) is applied by SmpVectorEnv on *this* step's error.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from mjlab.managers.reward_manager import RewardTermCfg
from mjlab.managers.termination_manager import TerminationTermCfg
from torch import Tensor

from smp_gym.config import SimCfg
from smp_gym.errors import ConfigError
from smp_gym.sim.g1 import base_cfg
from smp_gym.task import Metric, SmpTermination, TaskSpec


def upward_reward(
    head_z: Tensor,
    head_vz: Tensor,
    target_vz: float = 0.25,
    height_threshold: float = 0.9,
    scale: float = 100.0,
) -> Tensor:
    """exp(-scale·min(v_z - target, 0)²) below ``height_threshold``, else 1. Shapes: [N]."""
    r = torch.exp(-scale * (head_vz - target_vz).clamp_max(0).square())
    return torch.where(head_z < height_threshold, r, torch.ones_like(r))


def head_height_reward(head_z: Tensor, target: float = 1.1, scale: float = 1.0) -> Tensor:
    return torch.exp(-scale * (head_z - target).clamp_max(0).square())


def _head(env) -> tuple[Tensor, Tensor]:
    robot = env.scene["robot"]
    i = robot.site_names.index("head")
    return robot.data.site_pos_w[:, i, 2], robot.data.site_lin_vel_w[:, i, 2]


def upward(env) -> Tensor:
    return upward_reward(*_head(env))


def head_height(env) -> Tensor:
    return head_height_reward(_head(env)[0])


def standing(env, head_height: float, max_speed: float) -> Tensor:
    z, _ = _head(env)
    speed = env.scene["robot"].data.root_link_lin_vel_w.norm(dim=-1)
    return (z >= head_height) & (speed < max_speed)


class stood_up:  # noqa: N801 - mjlab instantiates term classes by name
    """Truncate once the robot has been standing for ``hold_steps`` consecutive steps."""

    def __init__(self, cfg: TerminationTermCfg, env) -> None:
        self.count = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)

    def __call__(self, env, head_height: float, max_speed: float, hold_steps: int) -> Tensor:
        ok = standing(env, head_height, max_speed)
        self.count = torch.where(ok, self.count + 1, torch.zeros_like(self.count))
        return self.count >= hold_steps

    def reset(self, env_ids: Tensor | None = None) -> None:
        self.count[slice(None) if env_ids is None else env_ids] = 0


@dataclass(frozen=True, kw_only=True)
class GetupCfg:
    upward_weight: float = 0.7
    head_height_weight: float = 0.3
    stand_head_height: float = 1.2
    """Head height (m) that counts as standing."""
    stand_max_speed: float = 0.5
    """Root speed (m/s) below which standing counts."""
    stand_hold_steps: int = 25
    """Consecutive standing steps that end the episode as a success (truncation)."""
    smp_termination_threshold: float | None = 0.02
    """End the episode when exp(-ws·raw SDS error) drops below this (None disables)."""
    smp_termination_grace_steps: int = 5
    smp_termination_ws: float = 6.0
    """Scale in the termination test exp(-ws·raw SDS error) (the reference's 6; independent of
    the reward's ``ws``, so tuning the reward does not move this threshold)."""

    def __post_init__(self) -> None:
        if self.stand_hold_steps < 1 or self.smp_termination_grace_steps < 0:
            raise ConfigError(
                "task.stand_hold_steps must be >= 1 and smp_termination_grace_steps >= 0."
            )
        t = self.smp_termination_threshold
        if t is not None and not 0 < t < 1:
            raise ConfigError(
                f"task.smp_termination_threshold: received {t}; need 0 < t < 1 or None."
            )
        if not self.smp_termination_ws > 0:
            raise ConfigError(
                f"task.smp_termination_ws: received {self.smp_termination_ws}; must be > 0."
            )


def make_sim_cfg(task: GetupCfg, sim: SimCfg, episode_length_s: float):
    cfg = base_cfg(
        sim,
        episode_length_s=episode_length_s,
        min_base_height=None,
        self_collision_termination=False,
        head_site=True,
    )
    cfg.rewards = {
        "upward": RewardTermCfg(func=upward, weight=task.upward_weight),
        "head_height": RewardTermCfg(func=head_height, weight=task.head_height_weight),
    }
    cfg.terminations["stood_up"] = TerminationTermCfg(
        func=stood_up,
        time_out=True,
        params={
            "head_height": task.stand_head_height,
            "max_speed": task.stand_max_speed,
            "hold_steps": task.stand_hold_steps,
        },
    )
    return cfg


def head_height_metric(env) -> Tensor:
    return _head(env)[0]


def standing_metric(env) -> Tensor:
    p = env.termination_manager.get_term_cfg("stood_up").params
    return standing(env, p["head_height"], p["max_speed"]).float()


def stood_up_metric(env) -> Tensor:
    """1 on the step the ``stood_up`` success truncation fires."""
    return env.termination_manager.get_term("stood_up").float()


def smp_termination(cfg: GetupCfg) -> SmpTermination | None:
    if cfg.smp_termination_threshold is None:
        return None
    return SmpTermination(
        threshold=cfg.smp_termination_threshold,
        grace_steps=cfg.smp_termination_grace_steps,
        ws=cfg.smp_termination_ws,
    )


TASK = TaskSpec(
    cfg_type=GetupCfg,
    make_sim_cfg=make_sim_cfg,
    metrics=(
        Metric(name="head_height", fn=head_height_metric, label="head height", unit="m"),
        Metric(name="standing", fn=standing_metric, label="standing (share of steps)"),
        Metric(name="stood_up", fn=stood_up_metric, reduce="max", label="stood up", success=True),
    ),
    smp_termination=smp_termination,
)
