"""SmpVectorEnv: a torch-native Gymnasium vector env of one G1 task with an SMP reward.

It runs parts built by ``smp_gym.make.build`` from a resolved config: an mjlab
``ManagerBasedRlEnv`` (task reward only, ``auto_reset=False``) and the ops that reset it, the
motion window, ``SmpReward``, ``StartStates`` and ``EpisodeStats``. Every step: frame -> motion
window -> ``SmpReward`` (SDS error -> ``r_smp`` -> combine with the task reward, SMP
terminations) -> resets in the chosen Gymnasium autoreset mode.
"""

from __future__ import annotations

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from torch import Tensor

from smp_gym.config import ResolvedCfg
from smp_gym.episodes import METRIC
from smp_gym.errors import ConfigError
from smp_gym.faults import NonfiniteWatch
from smp_gym.inputs import ActionCheck, check_reset_mask
from smp_gym.registry import task_info


class SmpVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` copies of one task. Observations, rewards and flags are torch tensors on
    ``device`` (actor observations; the critic's are ``state()``). See docs/env_api.md.
    Build it with ``gymnasium.make_vec`` (``smp_gym.make``), which resolves ``cfg`` and builds
    the parts this class assembles."""

    metadata = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [None, "rgb_array"],
        "render_fps": 50,
    }

    def __init__(
        self,
        cfg: ResolvedCfg,
        *,
        task,
        sim,
        ops,
        prior,
        reward,
        reader,
        start_states,
        window,
        episodes,
        generator: torch.Generator,
        action_bounds: tuple[Tensor, Tensor],
    ) -> None:
        """``action_bounds``: the actions [action_dim] that put the PD targets on the joints'
        lower / upper limits (actions are clipped to them; the space is symmetric)."""
        self.cfg, self.info = cfg, task_info(cfg.env_id)
        self.spec_task, self.task_cfg = task, cfg.task
        self.num_envs, self.render_mode = cfg.num_envs, cfg.render_mode
        self.device = generator.device
        self.autoreset_mode = AutoresetMode(cfg.autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.sim, self.ops, self._reader, self._generator = sim, ops, reader, generator
        self.prior, self.layout, self.reward = prior, prior.layout, reward
        self.start_states, self.gsi = start_states, start_states.pool
        self.window, self.episodes = window, episodes
        self.metric_specs, self.max_episode_steps = task.metric_specs, sim.max_episode_length

        groups = sim.single_observation_space.spaces
        self.single_observation_space = _box(groups["actor"].shape)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.single_state_space = _box(groups["critic"].shape)
        self.state_space = batch_space(self.single_state_space, self.num_envs)
        self._actions = ActionCheck(*action_bounds, cfg=cfg)
        bound = self._actions.bound.cpu().numpy()  # symmetric: the zero action is the default pose
        self.single_action_space = gymnasium.spaces.Box(-bound, bound, dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._obs: Tensor | None = None
        self._state: Tensor | None = None
        # Envs whose episode ended and whose reset is pending: NEXT_STEP resets them in the next
        # step(), DISABLED in reset(options={"reset_mask": ...}); SAME_STEP never leaves any.
        # _has_pending mirrors pending.any() on the host (set where the mask is set: no sync).
        # reset(options={"reset_stats": True}) restores the reward state as built (the pool: a copy)
        gsi_state = self.gsi.state_dict() if self.gsi is not None else {}
        self._built = {"normalizer": reward.normalizer.state_dict(), "gsi": gsi_state}
        self._pending = torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        self._has_pending = False
        self._nonfinite = NonfiniteWatch(cfg.env_id, self.device)
        self._renderer = None  # render(): built on first use (smp_gym/sim/render.py)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset all envs, or those in ``options['reset_mask']`` (bool, shape ``(num_envs,)``).
        ``seed`` seeds the simulator's RNGs and this env's generator (SDS noise, GSI draws);
        ``options['reset_stats']`` also restores the SDS normalizer and the GSI pool to their
        state at construction, so ``reset(seed=s, options={"reset_stats": True})`` reproduces
        the rewards too (docs/env_api.md#seeding-and-determinism)."""
        if seed is not None:
            self._generator.manual_seed(seed)
            self.ops.seed(self.sim, seed)
        if (options or {}).get("reset_stats"):
            self.load_state_dict(self._built)
        mask = (options or {}).get("reset_mask")
        mask = None if mask is None else check_reset_mask(mask, self.num_envs, self.device)
        if mask is None or self._obs is None:
            mask = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        obs, state = self._reset_envs(mask.nonzero().squeeze(-1))
        if self._obs is None:
            self._obs, self._state = obs.clone(), state.clone()
        else:  # new tensors: the ones step() returned stay the caller's, untouched
            self._obs, self._state = _replace_rows(mask, self._obs, obs, self._state, state)
        self._pending = self._pending & ~mask
        self._has_pending = self._has_pending and bool(self._pending.any())
        return self._obs.clone(), {}

    def step(self, actions):
        actions = self._prepare_actions(actions)
        next_step = self.autoreset_mode is AutoresetMode.NEXT_STEP
        restart = self._pending if next_step and self._has_pending else None
        if restart is not None:  # NEXT_STEP: stepped, discarded and reset below
            self.ops.defer_reset(self.sim, restart)
        obs_d, task_r, terminated, truncated, _ = self.sim.step(actions)
        task_r, truncated = task_r.clone(), truncated.clone()  # mjlab reuses these buffers

        # The SMP reward of this step's window, and SMP terminations from the same error.
        nonfinite = self.ops.nonfinite(self.sim) if self.cfg.reset_nonfinite else None
        self.window.push(self._reader())
        valid = _valid(nonfinite, restart)
        raw, r_smp = self.reward(self.window.features(), self._generator, valid)
        reward = self.reward.combine(task_r, r_smp)
        terminated = terminated | self.reward.terminated(raw, self.sim.episode_length_buf)
        if nonfinite is not None:  # blown-up physics: terminated, reward 0, counted
            terminated, reward = terminated | nonfinite, _zero_where(nonfinite, reward)
            self._nonfinite(nonfinite)
        if self.gsi is not None:
            self.gsi.tick()

        info = {"task_reward": task_r, "smp_reward": r_smp, "sds_error": raw.mean(dim=1)}
        if nonfinite is not None:
            info["nonfinite"] = nonfinite
        for m in self.spec_task.metrics:
            info[METRIC + m.name] = m.fn(self.sim)
        self.episodes.add(reward, info)
        obs, state = obs_d["actor"], obs_d["critic"]
        if restart is not None:  # their first obs, reward 0, flags False, the reset's info:
            # it has none of the step keys, so 0 (what SyncVectorEnv fills absent entries with)
            reward, terminated, truncated = (
                _zero_where(restart, x) for x in (reward, terminated, truncated)
            )
            info = {k: _zero_where(restart, v) for k, v in info.items()}
            obs, state = self._reset_into(restart, restart.nonzero().squeeze(-1), obs, state)
            self._pending, self._has_pending = torch.zeros_like(restart), False
        obs, state = self._end_episodes(terminated, truncated, obs, state, info)
        self._obs, self._state = obs, state
        return obs, reward, terminated, truncated, info

    def _end_episodes(
        self, terminated: Tensor, truncated: Tensor, obs: Tensor, state: Tensor, info: dict
    ) -> tuple[Tensor, Tensor]:
        """Report the episodes that ended (``smp_episode/*`` in every mode; Gymnasium's
        ``final_*`` keys in SAME_STEP) and reset them as the mode says, one branch each, as
        Gymnasium's ``SyncVectorEnv``: SAME_STEP now, NEXT_STEP next call, DISABLED never."""
        done = terminated | truncated
        done_ids = done.nonzero().squeeze(-1)  # the step's one host sync: info keys depend on it
        if len(done_ids) == 0:
            return obs, state
        step_info = dict(info)  # SAME_STEP's final_info: the step's own keys, as SyncVectorEnv
        for key, value in self.episodes.final(terminated).items():  # "smp_episode/<stat>"
            info[key], info["_" + key] = value, done
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            info["final_info"], info["_final_info"] = step_info, done
            info["final_obs"], info["_final_obs"] = obs.clone(), done
            return self._reset_into(done, done_ids, obs, state)
        self._pending, self._has_pending = self._pending | done, True  # NEXT_STEP, DISABLED
        return obs, state

    def _reset_envs(self, env_ids: Tensor) -> tuple[Tensor, Tensor]:
        """Draw start states for ``env_ids``, reset them (the simulator writes the draw), prime
        their motion windows from the draw and what was written, and zero their episode
        statistics. Returns the (actor, critic) observations of all envs."""
        start = self.start_states.sample(env_ids)
        obs = self.ops.reset(self.sim, env_ids, start)
        written = self._reader().pack()[env_ids]  # the simulator's state: joint limits applied
        self.window.reset(env_ids, self.start_states.window_frames(start, written, env_ids))
        self.episodes.reset(env_ids)
        return obs["actor"], obs["critic"]

    def _reset_into(
        self, mask: Tensor, ids: Tensor, obs: Tensor, state: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Reset the envs in ``mask`` (indices ``ids``); new ``obs``/``state`` with their rows
        replaced by the reset observations."""
        reset_obs, reset_state = self._reset_envs(ids)
        return _replace_rows(mask, obs, reset_obs, state, reset_state)

    def state(self) -> Tensor:
        """Critic observations of the last step/reset. Shape: [num_envs, state_dim]."""
        if self._state is None:
            raise RuntimeError("SmpVectorEnv.state() called before reset().")
        return self._state

    def render(self):
        """None, or (``rgb_array``) a sequence of ``num_envs`` RGB frames [H, W, 3] uint8, each
        rendered when indexed, camera following that env's robot (``cfg.render``); see
        smp_gym/sim/render.py. Gymnasium's vector ``RecordVideo`` takes it as it is."""
        if self.render_mode is None:
            return None
        if self._renderer is None:
            from smp_gym.sim.render import EnvRenderer

            c = self.cfg
            self._renderer = EnvRenderer(
                self.sim, c.render, c.sim.render_width, c.sim.render_height
            )
        return self._renderer.snapshot()

    def close_extras(self, **kwargs) -> None:
        import gc

        if self._renderer is not None:
            self._renderer.close()
        self.sim.close()
        # mjlab's managers and terms point back at their env (and our reset event at us): those
        # cycles hold ~250 MB of MuJoCo/Warp buffers per closed env until a full collection.
        gc.collect()

    def _prepare_actions(self, actions) -> Tensor:
        if self._obs is None:
            raise RuntimeError("SmpVectorEnv.step() called before reset(); call env.reset() first.")
        if self.autoreset_mode is AutoresetMode.DISABLED and self._has_pending:
            ended = self._pending.nonzero().squeeze(-1).tolist()
            raise RuntimeError(
                f"envs {ended[:10]} ended and autoreset_mode is DISABLED: reset them with "
                "env.reset(options={'reset_mask': mask}) before stepping again."
            )
        return self._actions(actions)

    # ------------------------------------------------------------------ reward state
    def state_dict(self) -> dict:
        """SDS normalizer, GSI pool and RNG state: save with a policy so evaluation and resumed
        training see the same reward scale."""
        return {
            "normalizer": self.reward.normalizer.state_dict(),
            "gsi": self.gsi.state_dict() if self.gsi is not None else {},
            "generator": self._generator.get_state(),
            "task": self.info.id,
            "prior_sha256": self.prior.meta.get("sha256", ""),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` saved (errors name the missing or malformed key)."""
        if not isinstance(state, dict) or "normalizer" not in state:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ConfigError(
                f"SmpVectorEnv.load_state_dict: received {got}; expected a dict with "
                "keys 'normalizer', 'gsi', 'generator', 'task' (from env.state_dict())."
            )
        if state.get("task") not in (None, self.info.id):
            raise ConfigError(f"state_dict is for {state['task']}, this env is {self.info.id}.")
        self.reward.normalizer.load_state_dict(state["normalizer"])
        if self.gsi is not None and state.get("gsi"):
            self.gsi.load_state_dict(state["gsi"])
        if "generator" in state:  # set_state takes a CPU ByteTensor on every device
            self._generator.set_state(state["generator"].to("cpu", torch.uint8))

    def __repr__(self) -> str:
        return (
            f"SmpVectorEnv({self.info.id}, num_envs={self.num_envs}, device={self.device}, "
            f"autoreset_mode={self.autoreset_mode.name})"
        )


def _valid(*drop: Tensor | None) -> Tensor | None:
    """Rows to keep in the SDS running mean: none of the ``drop`` masks set (None: keep all)."""
    masks = [d for d in drop if d is not None]
    return ~torch.stack(masks).any(dim=0) if masks else None


def _zero_where(mask: Tensor, x: Tensor) -> Tensor:
    return torch.where(mask, torch.zeros_like(x), x)


def _replace_rows(mask: Tensor, obs: Tensor, new_obs: Tensor, state: Tensor, new_state: Tensor):
    """New ``obs``/``state`` tensors with the rows in ``mask`` from ``new_obs``/``new_state``."""
    m = mask.unsqueeze(-1)
    return torch.where(m, new_obs, obs), torch.where(m, new_state, state)


def _box(shape) -> gymnasium.spaces.Box:
    return gymnasium.spaces.Box(-np.inf, np.inf, shape=tuple(shape), dtype=np.float32)
