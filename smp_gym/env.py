"""SmpVectorEnv: a torch-native Gymnasium vector env of one G1 task with an SMP reward.

It holds an mjlab ``ManagerBasedRlEnv`` (task reward only, ``auto_reset=False``) by composition
and adds, every step: frame -> motion window -> SDS error -> ``r_smp`` -> ``combine`` with the
task reward -> SMP terminations -> same-step resets whose start states (GSI) are written
inside mjlab's reset pipeline.
"""

from __future__ import annotations

import contextlib
import importlib
import io

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from torch import Tensor

import smp_gym.sim  # noqa: F401 - sets MJLAB_WARP_QUIET before any mjlab import
from smp_gym.config import SmpEnvCfg
from smp_gym.device import resolve_device
from smp_gym.errors import ConfigError, MotionDataError
from smp_gym.gsi import GsiPool
from smp_gym.motion.features import InitState, features_to_frames, init_state_from_frames
from smp_gym.motion.window import MotionWindow
from smp_gym.prior import checkpoint
from smp_gym.prior.sampling import DdpmChain
from smp_gym.prior.score import SdsNormalizer, SdsScorer
from smp_gym.registry import task_info
from smp_gym.reward import combine, smp_reward


class SmpVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` copies of one task. Observations, rewards and flags are torch tensors on
    ``device`` (actor observations; the critic's are ``state()``). See docs/env_api.md."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": [None, "rgb_array"],
                "render_fps": 50}  # fmt: skip

    def __init__(self, task: str, num_envs: int = 1, *, cfg: SmpEnvCfg | None = None,
                 device: str | torch.device | None = None, render_mode: str | None = None,
                 max_episode_steps: int | None = None) -> None:  # fmt: skip
        cfg = cfg or SmpEnvCfg()
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise ConfigError(f"num_envs: received {num_envs!r}; must be an int >= 1.")
        if render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode: received {render_mode!r}; use None or 'rgb_array'.")
        self.info = task_info(task)
        self.spec_task = importlib.import_module(self.info.module).TASK
        self.task_cfg = cfg.task if cfg.task is not None else self.spec_task.cfg_type()
        if not isinstance(self.task_cfg, self.spec_task.cfg_type):
            raise ConfigError(f"task: received {type(self.task_cfg).__name__}; {self.info.id} takes "
                              f"a {self.spec_task.cfg_type.__name__}.")  # fmt: skip
        self.cfg, self.reward_cfg = cfg, cfg.reward or self.spec_task.reward
        self.num_envs, self.render_mode = num_envs, render_mode
        self.device = resolve_device(device)
        self._generator = torch.Generator(self.device)
        self._generator.manual_seed(cfg.seed if cfg.seed is not None else int(torch.randint(2**31, ())))

        # The frozen prior and its reward machinery.
        self.prior = checkpoint.load(cfg.prior or self.info.default_prior, self.device)
        self.layout = self.prior.layout
        self.scorer = SdsScorer(self.prior, self.reward_cfg.timesteps, compile=cfg.compile_prior)
        self.normalizer = SdsNormalizer(len(self.reward_cfg.timesteps), self.device,
                                        self.reward_cfg.normalizer_max_count,
                                        self.reward_cfg.normalizer_min)  # fmt: skip
        self.smp_termination = self.spec_task.smp_termination(self.task_cfg)

        # The simulator, with our start-state writer as its last reset event.
        self.sim = self._build_sim(cfg, max_episode_steps)
        self.window = MotionWindow(num_envs, self.layout, self.device)
        self.gsi = self._build_gsi() if cfg.gsi.init == "gsi" else None
        self._dataset = self._load_dataset() if cfg.gsi.init == "dataset" else None

        obs_space = self.sim.single_observation_space.spaces
        self.single_observation_space = _box(obs_space["actor"].shape)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.single_state_space = _box(obs_space["critic"].shape)
        self.state_space = batch_space(self.single_state_space, num_envs)
        low, high = self._sim_io.action_bounds(self.sim)
        self._action_low, self._action_high = low.to(self.device), high.to(self.device)
        self.single_action_space = gymnasium.spaces.Box(low.cpu().numpy(), high.cpu().numpy(), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.max_episode_steps = self.sim.max_episode_length

        n = num_envs
        z = lambda: torch.zeros(n, device=self.device)  # noqa: E731
        self._ep = {"return": z(), "task_return": z(), "smp_reward": z(), "sds_error": z(), "length": z()}
        self._ep_metrics = {m.name: z() for m in self.spec_task.metrics}
        self.metric_specs = self.spec_task.metric_specs
        self._obs: Tensor | None = None
        self._state: Tensor | None = None
        self._pending_prime: tuple[Tensor, Tensor | None] | None = None

    # ------------------------------------------------------------------ construction
    def _build_sim(self, cfg: SmpEnvCfg, max_episode_steps: int | None):
        from mjlab.envs import ManagerBasedRlEnv
        from mjlab.managers.event_manager import EventTermCfg

        from smp_gym.sim import checks
        from smp_gym.sim import io as sim_io

        self._sim_io = sim_io
        dt = self.layout.dt
        steps = max_episode_steps or max(1, round((cfg.episode_length_s or self.info.episode_length_s) / dt))
        # mjlab takes ceil(length / dt) steps; half a step below the target keeps float error out.
        sim_cfg = self.spec_task.make_sim_cfg(self.task_cfg, cfg.sim, (steps - 0.5) * dt)
        sim_cfg.scene.num_envs = self.num_envs
        sim_cfg.seed = cfg.seed
        self._writer = sim_io.ResetWriter(self._draw_start_state, joint_ids=torch.zeros(0))
        sim_cfg.events["smp_start_state"] = EventTermCfg(func=self._writer, mode="reset")
        out = io.StringIO()
        with contextlib.redirect_stdout(out) if not cfg.verbose else contextlib.nullcontext():
            sim = ManagerBasedRlEnv(sim_cfg, device=str(self.device), render_mode=self.render_mode)
        reset_terms = sim.event_manager.active_terms.get("reset", [])
        if not reset_terms or reset_terms[-1] != "smp_start_state":
            raise ConfigError(f"mjlab reset events are {reset_terms}; 'smp_start_state' must run last "
                              "so observations see the written start state. Check cfg.events order.")  # fmt: skip
        checks.check_prior_matches_sim(self.layout, sim, feature_dim=self.prior.model.cfg.feature_dim,
                                       prior_name=f"prior {self.prior.source}")  # fmt: skip
        self._reader = sim_io.FrameReader(sim, self.layout)
        self._writer.joint_ids = self._reader.joint_ids
        return sim

    def _build_gsi(self) -> GsiPool:
        g = self.cfg.gsi
        size = g.pool_size or (4096 if self.device.type == "cuda" else 1024)
        return GsiPool(lambda n: DdpmChain(self.prior, n, self._generator), size,
                       num_steps=self.prior.num_timesteps, batch_size=g.batch_size,
                       refresh_interval=g.refresh_interval, refresh_count=g.refresh_count or max(1, size // 4),
                       progress=size > 1024)  # fmt: skip

    def _load_dataset(self) -> Tensor:
        from pathlib import Path

        from smp_gym.motion import dataset
        from smp_gym.motion import io as motion_io

        src = Path(self.cfg.gsi.dataset)
        if src.suffix == ".npz" and src.is_file():
            try:
                return dataset.load_windows(src)[0].windows.to(self.device)
            except MotionDataError:  # not a feature file: a motion NPZ, loaded below
                pass
        clips = motion_io.load_motions(src, self.layout)
        return dataset.build_windows(clips, self.layout).windows.to(self.device)

    # ------------------------------------------------------------------ start states
    def _draw_start_state(self, env_ids: Tensor) -> InitState:
        """Called by mjlab's reset pipeline (last reset event): the start state of ``env_ids``."""
        n, robot = len(env_ids), self.sim.scene["robot"]
        if self.gsi is None and self._dataset is None:  # the default pose
            root = robot.data.default_root_state[env_ids]
            jp = robot.data.default_joint_pos[env_ids][:, self._reader.joint_ids]
            self._pending_prime = (env_ids, None)
            return InitState(root[:, :3], root[:, 3:7], root[:, 7:10], root[:, 10:13], jp, torch.zeros_like(jp))
        if self.gsi is not None:
            windows = self.gsi.sample(n, self._generator)
        else:
            idx = torch.randint(0, self._dataset.shape[0], (n,), generator=self._generator, device=self.device)
            windows = self._dataset[idx]
        yaw = torch.zeros(n, device=self.device)
        if self.cfg.gsi.random_heading:
            yaw.uniform_(-torch.pi, torch.pi, generator=self._generator)
        frames = features_to_frames(windows, self.layout, torch.zeros(n, 2, device=self.device), yaw)
        self._pending_prime = (env_ids, frames.pack())
        return init_state_from_frames(frames, self.layout.dt)

    def _reset_envs(self, env_ids: Tensor) -> tuple[Tensor, Tensor]:
        """Reset ``env_ids`` through mjlab's reset pipeline (running the GSI write) and prime their
        windows."""
        obs = self._sim_io.reset_envs(self.sim, env_ids)
        ids, frames = self._pending_prime
        if frames is None:  # default pose: a still window of the state just written
            frames = self._reader().pack()[ids].unsqueeze(1).expand(-1, self.layout.window, -1)
        self.window.reset(ids, frames)
        self._pending_prime = None
        for buf in (*self._ep.values(), *self._ep_metrics.values()):
            buf[env_ids] = 0.0
        return obs["actor"], obs["critic"]

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset all envs (or ``options['reset_mask']``). ``seed`` seeds the simulator's RNGs
        and this env's generator (SDS noise, GSI draws)."""
        if seed is not None:
            self._generator.manual_seed(seed)
            with contextlib.redirect_stdout(io.StringIO()) if not self.cfg.verbose else contextlib.nullcontext():
                self.sim.seed(seed)
        mask = (options or {}).get("reset_mask")
        if mask is None or self._obs is None:
            ids = torch.arange(self.num_envs, device=self.device)
        else:
            ids = torch.as_tensor(np.asarray(mask) if not isinstance(mask, Tensor) else mask,
                                  device=self.device).nonzero().squeeze(-1)  # fmt: skip
        obs, state = self._reset_envs(ids)
        if self._obs is None:
            self._obs, self._state = obs.clone(), state.clone()
        else:
            self._obs[ids], self._state[ids] = obs[ids], state[ids]
        return self._obs.clone(), {}

    def step(self, actions):
        if self._obs is None:
            raise RuntimeError("SmpVectorEnv.step() called before reset(); call env.reset() first.")
        obs_d, task_r, terminated, truncated, _ = self.sim.step(self._prepare_actions(actions))
        task_r, truncated = task_r.clone(), truncated.clone()  # mjlab reuses these buffers

        # SMP reward from this step's window, then SMP-based terminations from the same error.
        nonfinite = self._sim_io.nonfinite_state(self.sim) if self.cfg.reset_nonfinite else None
        raw, r_smp = self._smp_reward(nonfinite)
        reward = combine(task_r, r_smp, self.reward_cfg)
        terminated = terminated | self._smp_terminated(raw)
        if nonfinite is not None:
            terminated = terminated | nonfinite
            reward = torch.where(nonfinite, torch.zeros_like(reward), reward)
        if self.gsi is not None:
            self.gsi.tick()

        info = {"task_reward": task_r, "smp_reward": r_smp, "sds_error": raw.mean(dim=1)}
        if nonfinite is not None:
            info["nonfinite"] = nonfinite
        if self.spec_task.metrics:
            info["metrics"] = {m.name: m.fn(self.sim) for m in self.spec_task.metrics}
        self._accumulate(reward, info)
        obs, state = obs_d["actor"], obs_d["critic"]

        done = terminated | truncated
        done_ids = done.nonzero().squeeze(-1)
        if len(done_ids) > 0:  # same-step autoreset of the envs that ended
            info["final_obs"], info["_final_obs"] = obs.clone(), done
            info["final_info"], info["_final_info"] = self._episode_stats(terminated, raw), done
            reset_obs, reset_state = self._reset_envs(done_ids)
            obs, state = obs.clone(), state.clone()
            obs[done_ids], state[done_ids] = reset_obs[done_ids], reset_state[done_ids]
        self._obs, self._state = obs, state
        return obs, reward, terminated, truncated, info

    def state(self) -> Tensor:
        """Critic observations of the last step/reset. Shape: [num_envs, state_dim]."""
        if self._state is None:
            raise RuntimeError("SmpVectorEnv.state() called before reset().")
        return self._state

    def render(self):
        """One RGB frame (H, W, 3) of env 0 from mjlab's offscreen renderer, or None."""
        return None if self.render_mode is None else self.sim.render()

    def close_extras(self, **kwargs) -> None:
        self.sim.close()

    # ------------------------------------------------------------------ helpers
    def _prepare_actions(self, actions) -> Tensor:
        try:
            a = torch.as_tensor(actions, device=self.device, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError, NotImplementedError) as err:
            where = getattr(actions, "device", type(actions).__name__)
            raise ValueError(f"actions: cannot use {where} actions on {self.device} ({err}); pass a "
                             f"float tensor or array of shape ({self.num_envs}, "
                             f"{self.single_action_space.shape[0]}).") from err
        expected = (self.num_envs, self.single_action_space.shape[0])
        if self.cfg.validate_actions:
            if tuple(a.shape) != expected:
                raise ValueError(f"actions: received shape {tuple(a.shape)}; expected {expected} "
                                 f"(num_envs, action_dim) for {self.info.id}.")  # fmt: skip
            if not bool(torch.isfinite(a).all()):
                bad = (~torch.isfinite(a)).any(dim=1).nonzero().squeeze(-1).tolist()
                raise ValueError(f"actions: NaN/inf values for envs {bad[:10]}; expected finite "
                                 f"actions of shape {expected}.")  # fmt: skip
        if self.cfg.clip_actions:
            a = torch.clamp(a, self._action_low, self._action_high)
        return a

    def _smp_reward(self, nonfinite: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The hot path: read the frame, push it, score the window. Returns (raw SDS error [N, K],
        r_smp [N]). Tensor ops only: no host syncs."""
        self.window.push(self._reader())
        raw = self.scorer(self.window.features(), self._generator)
        if not self.reward_cfg.normalize:
            return raw, smp_reward(raw, self.reward_cfg.ws)
        self.normalizer.record(raw, None if nonfinite is None else ~nonfinite)
        self.normalizer.update()
        return raw, smp_reward(self.normalizer.normalize(raw), self.reward_cfg.ws)

    def _smp_terminated(self, raw: Tensor) -> Tensor:
        t = self.smp_termination
        if t is None:
            return torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)
        unnatural = torch.exp(-t.ws * raw.mean(dim=1)) < t.threshold
        return unnatural & (self.sim.episode_length_buf >= t.grace_steps)

    def _accumulate(self, reward: Tensor, info: dict) -> None:
        ep = self._ep
        ep["return"] += torch.nan_to_num(reward)
        ep["task_return"] += torch.nan_to_num(info["task_reward"])
        ep["smp_reward"] += torch.nan_to_num(info["smp_reward"])
        ep["sds_error"] += torch.nan_to_num(info["sds_error"])
        ep["length"] += 1
        first = ep["length"] == 1
        for m in self.spec_task.metrics:
            v, acc = torch.nan_to_num(info["metrics"][m.name].float()), self._ep_metrics[m.name]
            if m.reduce in ("mean", "sum"):
                acc += v
            elif m.reduce == "last":
                acc.copy_(v)
            else:  # max
                torch.where(first, v, torch.maximum(acc, v), out=acc)

    def _episode_stats(self, terminated: Tensor, raw: Tensor) -> dict:
        """Per-env episode statistics (valid where ``_final_info`` is True)."""
        ep, length = self._ep, self._ep["length"].clamp_min(1)
        return {
            "episode_return": ep["return"].clone(),
            "episode_length": ep["length"].long(),
            "episode_task_return": ep["task_return"].clone(),
            "episode_smp_reward": ep["smp_reward"] / length,
            "episode_sds_error": ep["sds_error"] / length,
            "terminated": terminated.clone(),
            "metrics": {m.name: self._ep_metrics[m.name] / length if m.reduce == "mean"
                        else self._ep_metrics[m.name].clone() for m in self.spec_task.metrics},
        }

    # ------------------------------------------------------------------ reward state
    def state_dict(self) -> dict:
        """SDS normalizer, GSI pool and RNG state: save with a policy so evaluation and resumed
        training see the same reward scale."""
        return {
            "normalizer": self.normalizer.state_dict(),
            "gsi": self.gsi.state_dict() if self.gsi is not None else {},
            "generator": self._generator.get_state(),
            "task": self.info.id,
            "prior_sha256": self.prior.meta.get("sha256", ""),
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("task") not in (None, self.info.id):
            raise ConfigError(f"state_dict is for {state['task']}, this env is {self.info.id}.")
        self.normalizer.load_state_dict(state["normalizer"])
        if self.gsi is not None and state.get("gsi"):
            self.gsi.load_state_dict(state["gsi"])
        if "generator" in state:
            self._generator.set_state(state["generator"].cpu() if self.device.type == "cpu" else state["generator"])

    def __repr__(self) -> str:
        return f"SmpVectorEnv({self.info.id}, num_envs={self.num_envs}, device={self.device})"


def _box(shape) -> gymnasium.spaces.Box:
    return gymnasium.spaces.Box(-np.inf, np.inf, shape=tuple(shape), dtype=np.float32)
