"""rl_games over SmpVectorEnv: the ``IVecEnv`` its ``Runner`` builds through ``vecenv`` and
``env_configurations``, the way Isaac Lab's ``RlGamesVecEnvWrapper`` plugs in.

- observations ``{"obs": actor obs, "states": env.state()}`` (the asymmetric critic of a
  ``central_value_config`` reads ``states``; ``get_env_info()`` declares its ``state_space``),
  torch tensors on the env's device, never a numpy round trip;
- ``dones = terminated | truncated``, and ``infos["time_outs"] = truncated & ~terminated``, which
  rl_games' ``value_bootstrap`` adds back as ``γ·V(s)`` on time-limit ends;
- the per-step info passes through (flat ``[num_envs]`` tensors: ``task_reward``,
  ``smp_reward``, ``sds_error``, ``metric_<name>``, ``smp_episode/<stat>`` with their masks)
  and, on the steps where episodes end, ``infos["episode"]`` holds the mean of each statistic
  over the ended envs (0-d tensors): rl_games' ``IsaacAlgoObserver`` logs it as
  ``Episode/<stat>``. Gymnasium's ``final_*`` keys are dropped (rl_games bootstraps time-outs
  from ``V(s)`` and never reads a terminal observation);
- the action space is the env's own, finite: rl_games' ``clip_actions=True`` maps [-1, 1] onto
  it, ``clip_actions=False`` sends the network's output as the action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np
import torch
from rl_games.common import env_configurations, vecenv
from rl_games.common.ivecenv import IVecEnv

from smp_gym.adapters.common import require_same_step
from smp_gym.episodes import episode_info, episode_mask
from smp_gym.errors import ConfigError

VECENV_TYPE = "SMP_GYM"
"""The ``vecenv_type`` every env registered by :func:`register` is built with."""


class SmpRlGamesVecEnv(IVecEnv):
    """rl_games' vectorized env over an SmpVectorEnv built in SAME_STEP mode (the default)."""

    def __init__(self, env: Any) -> None:
        require_same_step(env, "rl_games")
        self.env = env
        u = env.unwrapped
        low, high = u.single_action_space.low, u.single_action_space.high
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ConfigError(
                "rl_games adapter: the env's action bounds must be finite (rl_games' "
                f"clip_actions rescales [-1, 1] onto them); received low={low}, high={high}."
            )
        self.num_envs: int = u.num_envs
        self.device: torch.device = u.device
        self.observation_space = u.single_observation_space
        self.state_space = u.single_state_space
        self.action_space = u.single_action_space

    def get_number_of_agents(self) -> int:
        return 1

    def get_env_info(self) -> dict:
        """The single-env spaces rl_games sizes its networks and buffers with."""
        return {
            "observation_space": self.observation_space,
            "action_space": self.action_space,
            "state_space": self.state_space,
            "agents": 1,
            "value_size": 1,
        }

    def reset(self) -> dict[str, torch.Tensor]:
        obs, _ = self.env.reset()
        return self._pack(obs)

    def step(self, actions: torch.Tensor):
        """actions: [num_envs, action_dim] (any device) -> ({"obs", "states"}, reward [num_envs],
        dones [num_envs] bool, infos)."""
        actions = torch.as_tensor(actions, device=self.device)
        obs, reward, terminated, truncated, info = self.env.step(actions)
        infos = {k: v for k, v in info.items() if not k.lstrip("_").startswith("final_")}
        infos["time_outs"] = truncated & ~terminated
        ended = episode_mask(info)
        if ended is not None:
            infos["episode"] = episode_means(episode_info(info), ended)
        return self._pack(obs), reward, terminated | truncated, infos

    def close(self) -> None:
        self.env.close()

    def _pack(self, obs: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"obs": obs, "states": self.env.unwrapped.state()}


def episode_means(stats: dict[str, torch.Tensor], ended: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean of each per-env episode statistic ([num_envs]) over the ``ended`` envs (bool
    [num_envs]) as 0-d float tensors on the same device, without a host sync."""
    weight = ended.float()
    count = weight.sum().clamp(min=1.0)
    return {k: (v.float() * weight).sum() / count for k, v in stats.items()}


def make_env(env_id: str, num_envs: int = 1, **make_kwargs) -> SmpRlGamesVecEnv:
    """``gymnasium.make_vec(env_id, num_envs, **make_kwargs)`` wrapped for rl_games."""
    return SmpRlGamesVecEnv(gymnasium.make_vec(env_id, num_envs=num_envs, **make_kwargs))


def register(
    env_id: str, name: str | None = None, env: SmpRlGamesVecEnv | None = None, **make_kwargs
) -> str:
    """Make ``env_id`` trainable by rl_games' ``Runner``; returns the ``env_name`` to put in its
    config (``name``, default ``env_id``).

    Without ``env``, the runner builds the env itself: ``num_actors`` envs from
    ``gymnasium.make_vec(env_id, **make_kwargs, **config["env_config"])`` (rl_games adds its
    ``seed`` there). With ``env`` (already wrapped), the runner trains that env; its
    ``num_actors`` must equal ``env.num_envs``."""
    name = name or env_id
    if env is not None and make_kwargs:
        raise ConfigError(
            f"rl_games register({env_id!r}): received both env= and make_vec arguments "
            f"{sorted(make_kwargs)}; pass the arguments to make_vec yourself or drop env=."
        )
    creator: Callable[..., SmpRlGamesVecEnv]
    if env is None:

        def creator(**kwargs) -> SmpRlGamesVecEnv:
            return make_env(env_id, **{**make_kwargs, **kwargs})
    else:

        def creator(num_envs: int | None = None, seed: int | None = None, **rest: Any):
            """``seed`` (rl_games adds it) is ignored: the env was seeded when it was built."""
            if num_envs is not None and num_envs != env.num_envs:
                raise ConfigError(
                    f"rl_games: config num_actors={num_envs} but the env registered as "
                    f"{name!r} has num_envs={env.num_envs}; set num_actors={env.num_envs}."
                )
            if rest:
                raise ConfigError(
                    f"rl_games: env_config {sorted(rest)} given for {name!r}, which was "
                    "registered with a built env; pass them to make_vec when building it."
                )
            return env

    env_configurations.register(name, {"vecenv_type": VECENV_TYPE, "env_creator": creator})
    vecenv.register(VECENV_TYPE, _create)
    return name


def _create(config_name: str, num_actors: int, **env_config) -> SmpRlGamesVecEnv:
    """rl_games' vecenv factory: ``num_actors`` envs of the registered ``config_name``."""
    creator = env_configurations.configurations[config_name]["env_creator"]
    return creator(num_envs=num_actors, **env_config)
