"""Library-neutral helpers for the trainer adapters."""

from __future__ import annotations

import torch
from gymnasium.vector import AutoresetMode

from smp_gym.episodes import episode_info, step_metrics
from smp_gym.errors import ConfigError

EPISODE_KEYS = (
    "episode_return",
    "episode_length",
    "episode_task_return",
    "episode_smp_reward",
    "episode_sds_error",
)


def scalar_logs(info: dict) -> dict[str, torch.Tensor]:
    """Reduce SmpVectorEnv's per-env step info to 0-d tensors: means of the reward terms and task
    metrics, plus episode statistics of the envs that ended this step (only when some did)."""
    logs = {
        "SMP / task reward": info["task_reward"].mean(),
        "SMP / r_smp": info["smp_reward"].mean(),
        "SMP / SDS error": info["sds_error"].mean(),
    }
    for k, v in step_metrics(info).items():
        logs[f"Task / {k}"] = v.float().mean()
    if "_smp_episode/length" in info:
        done, fin = info["_smp_episode/length"], episode_info(info)
        for k in EPISODE_KEYS:
            logs[f"Episode / {k}"] = fin[k.removeprefix("episode_")][done].float().mean()
        logs["Episode / terminated fraction"] = fin["terminated"][done].float().mean()
        for k in set(fin) - {k.removeprefix("episode_") for k in EPISODE_KEYS} - {"terminated"}:
            logs[f"Episode / {k}"] = fin[k][done].float().mean()
    return logs


def require_same_step(env, library: str) -> None:
    """The adapters turn SAME_STEP's ``final_obs`` into the library's terminal observation and let
    the env reset itself: refuse an env built in another mode, saying which one to build."""
    mode = getattr(env.unwrapped, "autoreset_mode", None)
    if mode is not AutoresetMode.SAME_STEP:
        raise ConfigError(
            f"{library} adapter: received an env with autoreset_mode={mode}; it needs "
            f"AutoresetMode.SAME_STEP. Build it with gymnasium.make_vec(id, "
            f"autoreset_mode='SameStep') (the default)."
        )
