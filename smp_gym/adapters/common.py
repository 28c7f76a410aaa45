"""Library-neutral helpers for the trainer adapters: reading SmpVectorEnv's info without host
syncs, and logging it with one device-to-host transfer per log interval.

Per-step info (the env's contract): ``task_reward``, ``smp_reward``, ``sds_error`` and one
``metric_<name>`` per task metric, each ``[num_envs]``; on a step where episodes end,
``info["smp_episode/<stat>"]`` (``return``, ``length``, ``task_return``, ``smp_reward``,
``sds_error``, ``terminated`` and each metric by name, each ``[num_envs]``) with Gymnasium's
masks ``info["_smp_episode/<stat>"]``. Nothing here indexes with a boolean mask (``x[mask]`` runs ``nonzero``,
a host sync): ended episodes are averaged as ``(x * mask).sum() / mask.sum()``.
"""

from __future__ import annotations

import torch
from gymnasium.vector import AutoresetMode
from torch import Tensor

from smp_gym.episodes import episode_info, episode_mask, step_metrics
from smp_gym.errors import ConfigError

STEP_LOGS = {
    "task_reward": "SMP / task reward",
    "smp_reward": "SMP / r_smp",
    "sds_error": "SMP / SDS error",
}
"""Log names of the per-step reward terms (the metrics are logged as ``Task / <name>``)."""
EPISODE_LOGS = {
    "return": "Episode / episode_return",
    "length": "Episode / episode_length",
    "task_return": "Episode / episode_task_return",
    "smp_reward": "Episode / episode_smp_reward",
    "sds_error": "Episode / episode_sds_error",
    "terminated": "Episode / terminated fraction",
}
"""Log names of the episode statistics (the metrics are logged as ``Episode / <name>``)."""


def ended_episodes(info: dict) -> tuple[dict[str, Tensor], Tensor] | None:
    """(statistics by name, mask) of the episodes that ended this step, or None if none did."""
    mask = episode_mask(info)
    return None if mask is None else (episode_info(info), mask)


def _terms(info: dict) -> tuple[dict[str, Tensor], dict[str, Tensor], Tensor | None]:
    """(0-d step means, 0-d sums over the ended episodes, 0-d count of ended episodes)."""
    means = {label: info[k].float().mean() for k, label in STEP_LOGS.items()}
    for name, v in step_metrics(info).items():
        means[f"Task / {name}"] = v.float().mean()
    ended = ended_episodes(info)
    if ended is None:
        return means, {}, None
    stats, mask = ended
    done = mask.float()
    sums = {
        EPISODE_LOGS.get(k, f"Episode / {k}"): (v.float() * done).sum() for k, v in stats.items()
    }
    return means, sums, done.sum()


def scalar_logs(info: dict) -> dict[str, Tensor]:
    """This step's logs as 0-d tensors on the env's device (no host sync): means of the reward
    terms and task metrics, and, on steps where episodes ended, their mean statistics."""
    means, sums, n = _terms(info)
    if n is not None:
        means.update({k: v / n.clamp_min(1.0) for k, v in sums.items()})
    return means


class LogAccumulator:
    """Sums the per-step logs on the device (:meth:`add`, no host sync) and reads their means
    over the interval with **one** device-to-host transfer (:meth:`read`).

    Step terms are averaged over steps; episode statistics over the episodes that ended in the
    interval (absent when none did)."""

    def __init__(self) -> None:
        self._steps = 0
        self._step: dict[str, Tensor] = {}
        self._episode: dict[str, Tensor] = {}
        self._ended: Tensor | None = None

    def add(self, info: dict) -> None:
        means, sums, n = _terms(info)
        self._steps += 1
        for acc, new in ((self._step, means), (self._episode, sums)):
            for k, v in new.items():
                acc[k] = acc[k] + v if k in acc else v.clone()
        if n is not None:
            self._ended = n if self._ended is None else self._ended + n

    def read(self) -> dict[str, float]:
        """Means since the last read, as Python floats; starts a new interval."""
        if self._steps == 0:
            return {}
        vals = [*self._step.values(), *self._episode.values()]
        if self._ended is not None:
            vals.append(self._ended)
        flat = torch.stack([v.double() for v in vals]).tolist()  # the one transfer
        out = {k: flat[i] / self._steps for i, k in enumerate(self._step)}
        ended = flat[-1] if self._ended is not None else 0.0
        if ended > 0:
            first = len(self._step)
            out.update({k: flat[first + i] / ended for i, k in enumerate(self._episode)})
        self._steps, self._step, self._episode, self._ended = 0, {}, {}, None
        return out


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
