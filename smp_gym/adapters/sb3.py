"""A Stable-Baselines3 ``VecEnv`` over SmpVectorEnv: numpy at this boundary only.

SB3 wants numpy observations, list-of-dict infos and finite action bounds. Envs that ended
this step get ``terminal_observation`` (the true final observation from ``final_obs``),
``TimeLimit.truncated`` and an ``episode`` dict, so SB3 bootstraps truncated episodes exactly
and logs returns; the other envs get ``{}`` (the fast variant).

Host transfers: SB3's numpy API needs the actions on the device and the observations on the
host every step; this bridge does each in **one** copy (observations, rewards and flags packed
together), plus one copy of the ended envs' final observations and returns on the steps where
episodes end. The SMP reward decomposition is summed on the device (``logs``, a
:class:`LogAccumulator`) and read once per rollout by :class:`SmpLogCallback`; the step's raw
info (tensors) stays in ``latest_info`` for callbacks that want more (the progress bar).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from smp_gym.adapters.common import LogAccumulator, ended_episodes, require_same_step


class SmpSb3VecEnv(VecEnv):
    def __init__(self, env: Any) -> None:
        require_same_step(env, "SB3")
        self.env = env
        self.smp_env = env.unwrapped
        self._actions: np.ndarray | None = None
        self._t0 = np.full(self.smp_env.num_envs, time.time())
        self.logs = LogAccumulator()
        self.latest_info: dict = {}
        super().__init__(
            self.smp_env.num_envs,
            self.smp_env.single_observation_space,
            self.smp_env.single_action_space,
        )

    def reset(self) -> np.ndarray:
        seed = self._seeds[0]
        obs, info = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        self._t0[:] = time.time()
        return _np(obs)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        actions = torch.as_tensor(self._actions, device=self.smp_env.device, dtype=torch.float32)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.latest_info = info
        self.logs.add(info)
        packed = torch.cat(  # one device-to-host copy: observations, reward, both flags
            (obs, reward[:, None], terminated[:, None].float(), truncated[:, None].float()), dim=1
        )
        host = _np(packed)
        d = obs.shape[1]
        obs_np, reward_np = host[:, :d], host[:, d].astype(np.float32)
        term, trunc = host[:, d + 1] > 0.5, host[:, d + 2] > 0.5
        dones = term | trunc
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        ended = ended_episodes(info)
        if "final_obs" in info and ended is not None:
            stats = ended[0]
            fin = _np(  # one copy on the steps where episodes end
                torch.cat(
                    (info["final_obs"], stats["return"][:, None], stats["length"][:, None]), 1
                )
            )
            now = time.time()
            for i in np.flatnonzero(dones):
                infos[i] = {
                    "terminal_observation": fin[i, :d],
                    "TimeLimit.truncated": bool(trunc[i] and not term[i]),
                    "episode": {
                        "r": float(fin[i, d]),
                        "l": int(fin[i, d + 1]),
                        "t": round(now - self._t0[i], 6),
                    },
                }
                self._t0[i] = now
        return obs_np, reward_np, dones, infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self.smp_env, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self.smp_env, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        result = getattr(self.smp_env, method_name)(*args, **kwargs)
        return [result] * len(list(self._get_indices(indices)))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))

    def get_images(self) -> Sequence[np.ndarray | None]:
        frames = self.smp_env.render()  # lazy: only env 0 is drawn
        return [None if frames is None else frames[0]] + [None] * (self.num_envs - 1)


class SmpLogCallback(BaseCallback):
    """Record the SMP reward decomposition, task metrics and episode statistics into SB3's
    logger (TensorBoard): means over each rollout, read from the device once per rollout."""

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        env = self.training_env
        while not isinstance(env, SmpSb3VecEnv) and hasattr(env, "venv"):
            env = env.venv
        if isinstance(env, SmpSb3VecEnv):
            for key, value in env.logs.read().items():
                self.logger.record(key.replace(" / ", "/").replace(" ", "_"), value)


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
