"""Library-neutral helpers for the trainer adapters."""

from __future__ import annotations

import torch
from gymnasium.vector import AutoresetMode

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
    for k, v in info.get("metrics", {}).items():
        logs[f"Task / {k}"] = v.float().mean()
    if "final_info" in info:
        done, fin = info["_final_info"], info["final_info"]
        for k in EPISODE_KEYS:
            logs[f"Episode / {k}"] = fin[k][done].float().mean()
        logs["Episode / terminated fraction"] = fin["terminated"][done].float().mean()
        for k, v in fin["metrics"].items():
            logs[f"Episode / {k}"] = v[done].float().mean()
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
