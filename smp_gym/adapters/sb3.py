"""A Stable-Baselines3 ``VecEnv`` over SmpVectorEnv: numpy at this boundary only.

SB3 wants numpy observations, list-of-dict infos and finite action bounds. Envs that ended
this step get ``terminal_observation`` (the true final observation from ``final_obs``),
``TimeLimit.truncated`` and an ``episode`` dict, so SB3 bootstraps truncated episodes exactly
and logs returns; the other envs get ``{}`` (the fast variant). The step's reward
decomposition is kept in ``latest_logs`` for :class:`SmpLogCallback`, and the step's raw info
(tensors) in ``latest_info`` for callbacks that want more (the examples' progress bar).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecEnv

from smp_gym.adapters.common import require_same_step, scalar_logs


class SmpSb3VecEnv(VecEnv):
    def __init__(self, env: Any) -> None:
        require_same_step(env, "SB3")
        self.env = env
        self.smp_env = env.unwrapped
        self._actions: np.ndarray | None = None
        self._t0 = np.full(self.smp_env.num_envs, time.time())
        self.latest_logs: dict[str, float] = {}
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
        self.latest_logs = {k: float(v) for k, v in scalar_logs(info).items()}
        dones = _np(terminated | truncated)
        infos: list[dict] = [{} for _ in range(self.num_envs)]
        if "final_obs" in info:
            final_obs, fin = _np(info["final_obs"]), info["final_info"]
            term, trunc = _np(terminated), _np(truncated)
            ret, length = _np(fin["episode_return"]), _np(fin["episode_length"])
            now = time.time()
            for i in np.flatnonzero(dones):
                infos[i] = {
                    "terminal_observation": final_obs[i],
                    "TimeLimit.truncated": bool(trunc[i] and not term[i]),
                    "episode": {
                        "r": float(ret[i]),
                        "l": int(length[i]),
                        "t": round(now - self._t0[i], 6),
                    },
                }
                self._t0[i] = now
        return _np(obs), _np(reward).astype(np.float32), dones, infos

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
    """Record the SMP reward decomposition and task metrics into SB3's logger (TensorBoard)."""

    def _on_step(self) -> bool:
        env = self.training_env
        while not isinstance(env, SmpSb3VecEnv) and hasattr(env, "venv"):
            env = env.venv
        for key, value in getattr(env, "latest_logs", {}).items():
            self.logger.record_mean(key.replace(" / ", "/").replace(" ", "_"), value)
        return True


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
