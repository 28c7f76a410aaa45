"""SmpVectorEnv: a torch-native Gymnasium vector env of one G1 task with an SMP reward.

It holds an mjlab ``ManagerBasedRlEnv`` (task reward only, ``auto_reset=False``) by composition
and adds, every step: frame -> motion window -> ``SmpReward`` (SDS error -> ``r_smp`` -> combine
with the task reward, SMP terminations) -> resets in the chosen Gymnasium autoreset mode, whose
start states (``StartStates``: GSI / default pose / dataset) are drawn first, written inside
mjlab's reset pipeline and then prime the motion window.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings

import gymnasium
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from torch import Tensor

import smp_gym.sim  # noqa: F401 - sets MJLAB_WARP_QUIET before any mjlab import
from smp_gym.config import SmpEnvCfg
from smp_gym.device import resolve_device
from smp_gym.episodes import EpisodeStats
from smp_gym.errors import ConfigError, MotionDataError, fmt_choices
from smp_gym.gsi import GsiPool, Plausible, StartState, StartStates, warn_implausible
from smp_gym.motion.features import Frames
from smp_gym.motion.window import MotionWindow
from smp_gym.prior import checkpoint
from smp_gym.prior.sampling import DdpmChain
from smp_gym.registry import task_info
from smp_gym.reward import SmpReward

_MODES = {m.value: m for m in AutoresetMode}
COMPILE_MIN_ENVS = 64
"""``compile_prior=None`` compiles the prior's reward forward from this many envs on."""


def autoreset_mode_from(value) -> AutoresetMode:
    """An ``AutoresetMode`` from the enum or its string value (``"SameStep"``, ...)."""
    if isinstance(value, AutoresetMode):
        return value
    if isinstance(value, str) and value in _MODES:
        return _MODES[value]
    names = {m.name: m for m in AutoresetMode}
    if isinstance(value, str) and value.upper() in names:
        return names[value.upper()]
    raise ConfigError(
        f"autoreset_mode: received {value!r}; use one of {fmt_choices(_MODES)} "
        "(or gymnasium.vector.AutoresetMode.SAME_STEP / NEXT_STEP / DISABLED)."
    )


class SmpVectorEnv(gymnasium.vector.VectorEnv):
    """``num_envs`` copies of one task. Observations, rewards and flags are torch tensors on
    ``device`` (actor observations; the critic's are ``state()``). See docs/env_api.md."""

    metadata = {
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [None, "rgb_array"],
        "render_fps": 50,
    }

    def __init__(
        self,
        task: str,
        num_envs: int = 1,
        *,
        cfg: SmpEnvCfg | None = None,
        device: str | torch.device | None = None,
        render_mode: str | None = None,
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    ) -> None:
        cfg = cfg or SmpEnvCfg()
        if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
            raise ConfigError(f"num_envs: received {num_envs!r}; must be an int >= 1.")
        if render_mode not in self.metadata["render_modes"]:
            raise ConfigError(f"render_mode: received {render_mode!r}; use None or 'rgb_array'.")
        self.autoreset_mode = autoreset_mode_from(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.info = task_info(task)
        self.spec_task = importlib.import_module(self.info.module).TASK
        self.task_cfg = cfg.task if cfg.task is not None else self.spec_task.cfg_type()
        if not isinstance(self.task_cfg, self.spec_task.cfg_type):
            raise ConfigError(
                f"task: received {type(self.task_cfg).__name__}; {self.info.id} takes "
                f"a {self.spec_task.cfg_type.__name__}."
            )
        self.cfg = cfg
        self.num_envs, self.render_mode = num_envs, render_mode
        self.device = resolve_device(device)
        self._generator = torch.Generator(self.device)
        self._generator.manual_seed(
            cfg.seed if cfg.seed is not None else int(torch.randint(2**31, ()))
        )

        # The frozen prior and the SMP reward it defines.
        self.prior = checkpoint.load(cfg.prior or self.info.default_prior, self.device)
        self.layout = self.prior.layout
        compile_prior = (
            cfg.compile_prior if cfg.compile_prior is not None else num_envs >= COMPILE_MIN_ENVS
        )
        self.reward = SmpReward(
            self.prior,
            cfg.reward or self.info.reward,
            self.spec_task.smp_termination(self.task_cfg),
            compile=compile_prior,
        )

        # The simulator (our start-state writer is its last reset event), the window, start states.
        self._staged: tuple[Tensor, StartState] | None = None
        self.sim = self._build_sim(cfg, max_episode_steps)
        self.window = MotionWindow(num_envs, self.layout, self.device)
        self.start_states = self._build_start_states()
        self.gsi = self.start_states.pool

        obs_space = self.sim.single_observation_space.spaces
        self.single_observation_space = _box(obs_space["actor"].shape)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.single_state_space = _box(obs_space["critic"].shape)
        self.state_space = batch_space(self.single_state_space, num_envs)
        low, high = self._sim_io.action_bounds(self.sim)
        self._action_low, self._action_high = low.to(self.device), high.to(self.device)
        self.single_action_space = gymnasium.spaces.Box(
            low.cpu().numpy(), high.cpu().numpy(), dtype=np.float32
        )
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.max_episode_steps = self.sim.max_episode_length
        self.metric_specs = self.spec_task.metric_specs

        self.episodes = EpisodeStats(num_envs, self.spec_task.metrics, self.device)
        self._obs: Tensor | None = None
        self._state: Tensor | None = None
        self._renderer = None  # render(): built on first use (smp_gym/sim/render.py)
        self._restart: Tensor | None = None  # NEXT_STEP: envs whose episode ended last step
        self._ended = torch.zeros(
            num_envs, dtype=torch.bool, device=self.device
        )  # DISABLED: awaiting reset
        self._nonfinite_seen = torch.zeros((), dtype=torch.long, device=self.device)
        self._nonfinite_warned = False
        self._steps = 0

    # ------------------------------------------------------------------ construction
    def _build_sim(self, cfg: SmpEnvCfg, max_episode_steps: int | None):
        from mjlab.envs import ManagerBasedRlEnv
        from mjlab.managers.event_manager import EventTermCfg

        from smp_gym.sim import checks
        from smp_gym.sim import io as sim_io

        self._sim_io = sim_io
        dt = self.layout.dt
        steps = max_episode_steps or max(
            1, round((cfg.episode_length_s or self.info.episode_length_s) / dt)
        )
        # mjlab takes ceil(length / dt) steps; half a step below the target keeps float error out.
        sim_cfg = self.spec_task.make_sim_cfg(self.task_cfg, cfg.sim, (steps - 0.5) * dt)
        sim_cfg.scene.num_envs = self.num_envs
        sim_cfg.seed = cfg.seed

        def write_start_state(sim, env_ids: Tensor | None) -> None:
            # A plain function (mjlab deep-copies event configs; functions copy as themselves).
            self._write_start_state(sim, env_ids)

        sim_cfg.events["smp_start_state"] = EventTermCfg(func=write_start_state, mode="reset")
        out = io.StringIO()
        with contextlib.redirect_stdout(out) if not cfg.verbose else contextlib.nullcontext():
            sim = ManagerBasedRlEnv(sim_cfg, device=str(self.device))  # we render (sim/render.py)
        reset_terms = sim.event_manager.active_terms.get("reset", [])
        if not reset_terms or reset_terms[-1] != "smp_start_state":
            raise ConfigError(
                f"mjlab reset events are {reset_terms}; 'smp_start_state' must run last "
                "so observations see the written start state. Check cfg.events order."
            )
        checks.check_prior_matches_sim(
            self.layout,
            sim,
            feature_dim=self.prior.model.cfg.feature_dim,
            prior_name=f"prior {self.prior.source}",
        )
        self._reader = sim_io.FrameReader(sim, self.layout)
        self._joint_ids = self._reader.joint_ids  # layout order -> the robot's joints
        robot = sim.scene["robot"]
        self._joint_limits = robot.data.joint_pos_limits[:, self._joint_ids].to(
            self.device
        )  # [N, J, 2]
        return sim

    def _build_start_states(self) -> StartStates:
        g, robot = self.cfg.gsi, self.sim.scene["robot"]
        pool = dataset = None
        if g.init == "gsi":
            limits = self._joint_limits[0]
            check = Plausible(joint_low=limits[:, 0], joint_high=limits[:, 1])
            size = g.pool_size or (4096 if self.device.type == "cuda" else 1024)
            pool = GsiPool(
                lambda n: DdpmChain(self.prior, n, self._generator),
                size,
                num_steps=self.prior.num_timesteps,
                batch_size=g.batch_size,
                refresh_interval=g.refresh_interval,
                refresh_count=g.refresh_count or max(1, size // 4),
                progress=size > 1024,
                validate=lambda w: check(w, self.layout),
            )
            if not warn_implausible(pool, self.prior.source):
                pool = None  # nothing usable: start from the default pose (warned)
        elif g.init == "dataset":
            dataset = self._load_dataset()
        return StartStates(
            self.layout,
            default_root=robot.data.default_root_state.to(self.device),
            default_joint_pos=robot.data.default_joint_pos[:, self._joint_ids].to(self.device),
            pool=pool,
            dataset=dataset,
            random_heading=g.random_heading,
            generator=self._generator,
        )

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

    # ------------------------------------------------------------------ resets
    def _write_start_state(self, sim, env_ids: Tensor | None) -> None:
        """mjlab reset event (the last one): write the start state drawn for this reset."""
        if env_ids is None:
            env_ids = torch.arange(self.num_envs, device=self.device)
        staged = self._staged
        if staged is None or staged[0] is not env_ids:  # a reset we did not start: draw here
            staged = (env_ids, self.start_states.sample(env_ids))
        self._sim_io.write_init_state(sim, env_ids, staged[1].state, self._joint_ids)

    def _reset_envs(self, env_ids: Tensor) -> tuple[Tensor, Tensor]:
        """Draw start states for ``env_ids``, reset them through mjlab's reset pipeline (which
        writes the draw), prime their motion windows from what was written and zero their
        episode statistics. Returns the (actor, critic) observations of all envs."""
        start = self.start_states.sample(env_ids)
        self._staged = (env_ids, start)
        try:
            obs = self._sim_io.reset_envs(self.sim, env_ids)
        finally:
            self._staged = None
        written = self._reader().pack()[env_ids]  # the simulator's state: joint limits applied
        if start.frames is None:  # default pose: a still window of the state just written
            frames = written.unsqueeze(1).expand(-1, self.layout.window, -1)
        else:
            frames = start.frames.clone()
            jp = Frames.unpack(frames, self.layout).joint_pos  # a view into frames
            limits = self._joint_limits[env_ids][:, None]
            jp.copy_(torch.clamp(jp, limits[..., 0], limits[..., 1]))
            frames[:, -1] = written
        self.window.reset(env_ids, frames)
        self.episodes.reset(env_ids)
        return obs["actor"], obs["critic"]

    def _reset_into(self, env_ids: Tensor, obs: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        """Reset ``env_ids`` and return copies of ``obs``/``state`` with their rows replaced."""
        reset_obs, reset_state = self._reset_envs(env_ids)
        obs, state = obs.clone(), state.clone()
        obs[env_ids], state[env_ids] = reset_obs[env_ids], reset_state[env_ids]
        return obs, state

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Reset all envs, or those in ``options['reset_mask']`` (bool, shape ``(num_envs,)``).
        ``seed`` seeds the simulator's RNGs and this env's generator (SDS noise, GSI draws)."""
        if seed is not None:
            self._generator.manual_seed(seed)
            with (
                contextlib.redirect_stdout(io.StringIO())
                if not self.cfg.verbose
                else contextlib.nullcontext()
            ):
                self.sim.seed(seed)
        mask = (options or {}).get("reset_mask")
        if mask is not None:
            mask = self._check_reset_mask(mask)
        if mask is None or self._obs is None:
            mask = torch.ones(self.num_envs, dtype=torch.bool, device=self.device)
        ids = mask.nonzero().squeeze(-1)
        obs, state = self._reset_envs(ids)
        if self._obs is None:
            self._obs, self._state = obs.clone(), state.clone()
        else:  # new tensors: the ones step() returned stay the caller's, untouched
            self._obs, self._state = self._obs.clone(), self._state.clone()
            self._obs[ids], self._state[ids] = obs[ids], state[ids]
        self._ended &= ~mask
        if self._restart is not None:
            self._restart = self._restart & ~mask
        return self._obs.clone(), {}

    def step(self, actions):
        actions = self._prepare_actions(actions)
        restart = self._restart  # NEXT_STEP: envs that ended last step (stepped, then reset below)
        if restart is not None:
            self._sim_io.defer_reset(self.sim, restart)
        obs_d, task_r, terminated, truncated, _ = self.sim.step(actions)
        task_r, truncated = task_r.clone(), truncated.clone()  # mjlab reuses these buffers

        # The SMP reward of this step's window, and SMP terminations from the same error.
        nonfinite = self._sim_io.nonfinite_state(self.sim) if self.cfg.reset_nonfinite else None
        self.window.push(self._reader())
        raw, r_smp = self.reward(
            self.window.features(), self._generator, _valid(nonfinite, restart)
        )
        reward = self.reward.combine(task_r, r_smp)
        terminated = terminated | self.reward.terminated(raw, self.sim.episode_length_buf)
        if nonfinite is not None:  # blown-up physics: terminated, reward 0, counted
            terminated = terminated | nonfinite
            reward = torch.where(nonfinite, torch.zeros_like(reward), reward)
            self._nonfinite_seen += nonfinite.sum()
            self._warn_nonfinite()
        if self.gsi is not None:
            self.gsi.tick()

        info = {"task_reward": task_r, "smp_reward": r_smp, "sds_error": raw.mean(dim=1)}
        if nonfinite is not None:
            info["nonfinite"] = nonfinite
        if self.spec_task.metrics:
            info["metrics"] = {m.name: m.fn(self.sim) for m in self.spec_task.metrics}
        self.episodes.add(reward, info)
        obs, state = obs_d["actor"], obs_d["critic"]
        if restart is not None:  # NEXT_STEP: their first observation, reward 0, both flags False
            reward, terminated, truncated = (
                torch.where(restart, torch.zeros_like(x), x)
                for x in (reward, terminated, truncated)
            )
            obs, state = self._reset_into(restart.nonzero().squeeze(-1), obs, state)
        obs, state = self._end_episodes(terminated, truncated, obs, state, info)
        self._obs, self._state = obs, state
        return obs, reward, terminated, truncated, info

    def _end_episodes(
        self, terminated: Tensor, truncated: Tensor, obs: Tensor, state: Tensor, info: dict
    ) -> tuple[Tensor, Tensor]:
        """Report the episodes that ended (``final_info``) and reset them as the mode says:
        SAME_STEP now (with ``final_obs``), NEXT_STEP on the next call, DISABLED never."""
        done = terminated | truncated
        done_ids = done.nonzero().squeeze(-1)
        self._restart = None
        if len(done_ids) == 0:
            return obs, state
        info["final_info"], info["_final_info"] = self.episodes.final(terminated), done
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            info["final_obs"], info["_final_obs"] = obs.clone(), done
            return self._reset_into(done_ids, obs, state)
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            self._restart = done
        else:
            self._ended |= done
        return obs, state

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

    # ------------------------------------------------------------------ helpers
    def _check_reset_mask(self, mask) -> Tensor:
        """``reset_mask`` as a bool tensor on the env's device, or a ValueError naming it."""
        shape = tuple(getattr(mask, "shape", ()))
        dtype = getattr(mask, "dtype", type(mask).__name__)
        is_bool = dtype in (torch.bool, np.bool_) or (
            isinstance(dtype, np.dtype) and dtype == np.bool_
        )
        if not isinstance(mask, (Tensor, np.ndarray)) or not is_bool or shape != (self.num_envs,):
            raise ValueError(
                f"reset_mask: received {type(mask).__name__} of shape {shape} and dtype "
                f"{dtype}; expected a bool numpy array or torch tensor of shape "
                f"({self.num_envs},) (num_envs), True for the envs to reset."
            )
        mask = torch.as_tensor(mask, device=self.device)
        if not bool(mask.any()):
            raise ValueError(
                f"reset_mask: received all False (shape ({self.num_envs},)); set True for "
                "at least one env to reset, or pass no reset_mask to reset all."
            )
        return mask

    def _prepare_actions(self, actions) -> Tensor:
        if self._obs is None:
            raise RuntimeError("SmpVectorEnv.step() called before reset(); call env.reset() first.")
        if self.autoreset_mode is AutoresetMode.DISABLED and bool(self._ended.any()):
            ended = self._ended.nonzero().squeeze(-1).tolist()
            raise RuntimeError(
                f"envs {ended[:10]} ended and autoreset_mode is DISABLED: reset them with "
                "env.reset(options={'reset_mask': mask}) before stepping again."
            )
        try:
            a = torch.as_tensor(actions, device=self.device, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError, NotImplementedError) as err:
            where = getattr(actions, "device", type(actions).__name__)
            raise ValueError(
                f"actions: cannot use {where} actions on {self.device} ({err}); pass a "
                f"float tensor or array of shape ({self.num_envs}, "
                f"{self.single_action_space.shape[0]})."
            ) from err
        expected = (self.num_envs, self.single_action_space.shape[0])
        if self.cfg.validate_actions is not False:
            if tuple(a.shape) != expected:  # host metadata: no sync
                raise ValueError(
                    f"actions: received shape {tuple(a.shape)}; expected {expected} "
                    f"(num_envs, action_dim) for {self.info.id}."
                )
            check_finite = self.cfg.validate_actions or self.device.type == "cpu"
            if check_finite and not bool(torch.isfinite(a).all()):
                bad = (~torch.isfinite(a)).any(dim=1).nonzero().squeeze(-1).tolist()
                raise ValueError(
                    f"actions: NaN/inf values for envs {bad[:10]}; expected finite "
                    f"actions of shape {expected}."
                )
        if self.cfg.clip_actions:
            a = torch.clamp(a, self._action_low, self._action_high)
        return a

    def _warn_nonfinite(self) -> None:
        """One warning once a simulation blew up (those envs were reset, reward 0). Looks at the
        device-side count every 100 steps on CUDA (one host sync), every step on CPU."""
        self._steps += 1
        if self._nonfinite_warned or (self.device.type != "cpu" and self._steps % 100):
            return
        if not bool(self._nonfinite_seen > 0):
            return
        self._nonfinite_warned = True
        warnings.warn(
            f"{self.info.id}: the physics state of some envs became NaN/inf ({int(self._nonfinite_seen)} so "
            "far); they were terminated, reset and given reward 0 (info['nonfinite'] marks them). "
            "Usual causes: start states outside what the robot can reach (an undertrained prior or "
            "narrow normalization: try gsi={'init': 'default'}) or extreme actions.",
            RuntimeWarning,
            stacklevel=3,
        )

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
        if "generator" in state:
            self._generator.set_state(
                state["generator"].cpu() if self.device.type == "cpu" else state["generator"]
            )

    def __repr__(self) -> str:
        return (
            f"SmpVectorEnv({self.info.id}, num_envs={self.num_envs}, device={self.device}, "
            f"autoreset_mode={self.autoreset_mode.name})"
        )


def _valid(*drop: Tensor | None) -> Tensor | None:
    """Rows to keep in the SDS running mean: none of the ``drop`` masks set (None: keep all)."""
    masks = [d for d in drop if d is not None]
    if not masks:
        return None
    out = ~masks[0]
    for d in masks[1:]:
        out = out & ~d
    return out


def _box(shape) -> gymnasium.spaces.Box:
    return gymnasium.spaces.Box(-np.inf, np.inf, shape=tuple(shape), dtype=np.float32)
