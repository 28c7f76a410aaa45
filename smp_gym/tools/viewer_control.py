"""What ``smp-gym view`` drives, without the web page: the env, where actions come from (a policy
bundle, random actions, or none while GSI start states are shown), the per-step signals the page
plots, and the task command set by hand.

The SDS error per diffusion step comes from the env's reward object: :class:`RecordingReward`
wraps ``env.reward`` and keeps the raw ``[N, K]`` error its call returns, so ``step()`` runs
unchanged. Commands set by hand are held (their resampling timer pushed out) until the next reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from smp_gym.errors import ConfigError

HOLD_S = 1e9  # a command set by hand is not resampled until the env resets


class RecordingReward:
    """``env.reward`` as it is, plus ``last_raw``: the raw SDS error [N, K] of the last call."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.last_raw: Tensor | None = None

    def __call__(self, *args, **kwargs):
        raw, r_smp = self._inner(*args, **kwargs)
        self.last_raw = raw
        return raw, r_smp

    def __getattr__(self, name):
        return getattr(self._inner, name)


@dataclass(frozen=True)
class CommandSpec:
    """The command a task's page offers: its mjlab command term and the sliders' fields."""

    term: str
    fields: tuple[tuple[str, float, float, float], ...]  # (name, min, max, step)


COMMANDS = {
    "steering": CommandSpec(
        "steering",
        (("direction_deg", -180, 180, 5), ("speed", 0.0, 2.5, 0.1), ("facing_deg", -180, 180, 5)),
    ),
    "forward": CommandSpec("steering", (("speed", 0.0, 2.5, 0.1),)),
    "location": CommandSpec("location", (("goal_x", -10, 10, 0.5), ("goal_y", -10, 10, 0.5))),
}


def command_spec(env) -> CommandSpec | None:
    """The task's hand-settable command, or None (Getup, Dodgeball: their command is not a goal)."""
    key = next((k for k in COMMANDS if k in env.info.id.lower()), None)
    return COMMANDS.get(key) if key else None


def _unit(deg: float, device) -> Tensor:
    rad = math.radians(deg)
    return torch.tensor([math.cos(rad), math.sin(rad)], device=device)


def set_command(env, env_id: int, **values: float) -> dict[str, float]:
    """Set env ``env_id``'s command (world frame; Location's goal relative to the env origin)
    and hold it; returns :func:`read_command` afterwards. Unknown fields raise."""
    spec = command_spec(env)
    if spec is None:
        raise ConfigError(f"{env.info.id} has no command to set by hand.")
    allowed = {f[0] for f in spec.fields}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ConfigError(f"command: unknown fields {unknown}; {env.info.id} takes {allowed}.")
    term = env.sim.command_manager.get_term(spec.term)
    if "speed" in values:
        term.tar_speed[env_id] = float(values["speed"])
    if "direction_deg" in values:
        term.tar_dir_w[env_id] = _unit(values["direction_deg"], term.tar_dir_w.device)
    if "facing_deg" in values:
        term.face_dir_w[env_id] = _unit(values["facing_deg"], term.face_dir_w.device)
    if "goal_x" in values or "goal_y" in values:
        origin = env.sim.scene.env_origins[env_id, :2]
        now = term.goal_w[env_id] - origin
        gx, gy = values.get("goal_x", float(now[0])), values.get("goal_y", float(now[1]))
        term.goal_w[env_id] = origin + torch.tensor([gx, gy], device=origin.device)
    term.time_left[env_id] = HOLD_S
    term._update_command(None)  # noqa: SLF001 - refresh the heading-frame command now
    return read_command(env, env_id)


def read_command(env, env_id: int) -> dict[str, float]:
    """Env ``env_id``'s command as the task holds it (world frame, degrees), for the page."""
    spec = command_spec(env)
    if spec is None:
        return {}
    term = env.sim.command_manager.get_term(spec.term)
    if spec.term == "location":
        goal = (term.goal_w[env_id] - env.sim.scene.env_origins[env_id, :2]).tolist()
        return {"goal_x": round(goal[0], 3), "goal_y": round(goal[1], 3)}
    d, f = term.tar_dir_w[env_id].tolist(), term.face_dir_w[env_id].tolist()
    return {
        "direction_deg": round(math.degrees(math.atan2(d[1], d[0])), 1),
        "speed": round(float(term.tar_speed[env_id]), 3),
        "facing_deg": round(math.degrees(math.atan2(f[1], f[0])), 1),
    }


def command_arrows(env, env_id: int) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """World-frame (start, end, kind) segments showing env ``env_id``'s command: the target
    velocity and facing arrows from the robot (Steering/Forward), or root -> goal (Location)."""
    spec = command_spec(env)
    if spec is None:
        return []
    term = env.sim.command_manager.get_term(spec.term)
    root = env.sim.scene["robot"].data.root_link_pos_w[env_id].cpu().numpy()
    start = root + np.array([0.0, 0.0, 0.5])
    if spec.term == "location":
        goal = term.goal_w[env_id].cpu().numpy()
        return [(start, np.array([goal[0], goal[1], 0.05]), "goal")]
    vel = (term.tar_speed[env_id] * term.tar_dir_w[env_id]).cpu().numpy()
    face = term.face_dir_w[env_id].cpu().numpy()
    return [
        (start, start + np.array([vel[0], vel[1], 0.0]), "velocity"),
        (start, start + 0.6 * np.array([face[0], face[1], 0.0]), "facing"),
    ]


class ActionSource:
    """Actions for ``obs``: a loaded policy, random actions (0.3·N(0,1), the tests' scale) or
    zeros."""

    def __init__(self, env, policy=None, random: bool = False, seed: int = 0) -> None:
        self.env, self.policy, self.random = env, policy, random
        self.generator = torch.Generator(env.device).manual_seed(seed)

    @torch.no_grad()
    def __call__(self, obs: Tensor) -> Tensor:
        shape = (self.env.num_envs, self.env.single_action_space.shape[0])
        if self.policy is not None:
            return self.policy(obs)
        if self.random:
            return 0.3 * torch.randn(shape, generator=self.generator, device=self.env.device)
        return torch.zeros(shape, device=self.env.device)


def step_signals(env, info: dict, reward: Tensor, env_id: int) -> dict[str, float]:
    """The page's per-step plot values for env ``env_id``: reward, task reward, ``r_smp``, the SDS
    error (mean and per diffusion step ``sds_t<k>``) and each task metric (``metric_<name>``).
    Reads the flat info keys (and the older nested ``info["metrics"]``)."""
    out = {
        "reward": float(reward[env_id]),
        "task_reward": float(info["task_reward"][env_id]),
        "smp_reward": float(info["smp_reward"][env_id]),
        "sds_error": float(info["sds_error"][env_id]),
    }
    raw = getattr(env.reward, "last_raw", None)
    if raw is not None:
        for k, value in zip(env.reward.cfg.timesteps, raw[env_id].tolist(), strict=True):
            out[f"sds_t{k}"] = value
    metrics = {k: v for k, v in info.items() if k.startswith("metric_")}
    metrics.update({f"metric_{k}": v for k, v in (info.get("metrics") or {}).items()})
    for name, value in metrics.items():
        out[name] = float(value[env_id])
    return out
