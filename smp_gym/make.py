"""``gymnasium.make_vec`` entry point: typed overrides -> SmpEnvCfg -> SmpVectorEnv."""

from __future__ import annotations

import dataclasses

from smp_gym.config import (
    GsiCfg,
    RenderCfg,
    SimCfg,
    SmpEnvCfg,
    SmpRewardCfg,
    build_dataclass,
    check_types,
)
from smp_gym.errors import ConfigError, fmt_choices

_NESTED = {"reward": SmpRewardCfg, "gsi": GsiCfg, "sim": SimCfg, "render": RenderCfg}
OVERRIDE_KEYS = tuple(f.name for f in dataclasses.fields(SmpEnvCfg))


def build_cfg(env_id: str, **overrides) -> SmpEnvCfg:
    """An SmpEnvCfg from keyword overrides; nested configs may be given as dicts."""
    unknown = sorted(set(overrides) - set(OVERRIDE_KEYS))
    if unknown:
        raise ConfigError(
            f"make_vec: unknown override(s) {unknown}; valid keys: "
            f"{fmt_choices(OVERRIDE_KEYS)} (plus num_envs, device, render_mode)."
        )
    values = dict(overrides)
    for key, cls in _NESTED.items():
        if key in values:
            values[key] = build_dataclass(cls, values[key], key, base=_task_default(env_id, key))
    if isinstance(values.get("task"), dict):
        from smp_gym.envs import task_spec

        values["task"] = build_dataclass(task_spec(env_id).cfg_type, values["task"], "task")
    check_types(
        SmpEnvCfg, {k: v for k, v in values.items() if k not in _NESTED and k != "task"}, "make_vec"
    )
    if values.get("gsi") is None:
        values.pop("gsi", None)
    for key in ("sim", "render"):
        if values.get(key) is None:
            values.pop(key, None)
    return SmpEnvCfg(**values)


def _task_default(task: str, key: str):
    """The task's own default for a nested config (overrides merge into it), or None."""
    if key != "reward":
        return None  # gsi / sim defaults are the same for every task: the dataclass defaults
    from smp_gym.registry import task_info

    return task_info(task).reward


def make_vec(
    env_id: str = "SmpSteeringG1-v0",
    num_envs: int = 1,
    device=None,
    render_mode=None,
    max_episode_steps: int | None = None,
    autoreset_mode="SameStep",
    **overrides,
):
    """Create an :class:`~smp_gym.env.SmpVectorEnv` (the ``vector_entry_point`` of every id;
    Gymnasium passes the id as ``env_id``, so ``task={...}`` stays free for the task's config).

    ``autoreset_mode``: a ``gymnasium.vector.AutoresetMode`` or its value (``"SameStep"``
    default, ``"NextStep"``, ``"Disabled"``). Nested overrides given as dicts (``reward``,
    ``gsi``, ``sim``, ``task``) merge into the task's defaults."""
    from smp_gym.env import SmpVectorEnv

    cfg = build_cfg(env_id, **overrides)
    if max_episode_steps is not None and cfg.episode_length_s is not None:
        raise ConfigError(
            f"make_vec: got both max_episode_steps={max_episode_steps} and "
            f"episode_length_s={cfg.episode_length_s}; pass only one."
        )
    return SmpVectorEnv(
        env_id,
        num_envs,
        cfg=cfg,
        device=device,
        render_mode=render_mode,
        max_episode_steps=max_episode_steps,
        autoreset_mode=autoreset_mode,
    )
