"""``gymnasium.make_vec`` entry point: resolve, then compose.

``make_vec(id, ...) == build(resolve(id, ...))``:

- :func:`resolve`: typed overrides -> ``SmpEnvCfg`` -> a :class:`~smp_gym.config.ResolvedCfg`
  with every default decided (device, episode steps, GSI pool size, compile, action checks,
  seeds). Nothing is built; errors name the field before anything heavy runs.
- :func:`build`: the parts — the frozen prior, ``SmpReward``, the simulator with its
  start-state event (``sim.mjlab_bridge.make_mjlab_env``), ``StartStates``, the motion window,
  ``EpisodeStats`` — handed to :class:`~smp_gym.env.SmpVectorEnv`, which only runs them.
"""

from __future__ import annotations

import dataclasses

from smp_gym.config import (
    CONTROL_DT,
    GsiCfg,
    RenderCfg,
    ResolvedCfg,
    SimCfg,
    SmpEnvCfg,
    SmpRewardCfg,
    backend_device,
    build_dataclass,
    check_types,
)
from smp_gym.errors import ConfigError, fmt_choices

_NESTED = {"reward": SmpRewardCfg, "gsi": GsiCfg, "sim": SimCfg, "render": RenderCfg}
OVERRIDE_KEYS = tuple(f.name for f in dataclasses.fields(SmpEnvCfg))
COMPILE_MIN_ENVS = 64
"""``compile_prior=None`` compiles the prior's reward forward from this many envs on."""
GSI_POOL = {"cuda": 4096, "cpu": 1024}
"""``gsi.pool_size=None``: windows in the pool per device type (T=50 forward passes each)."""


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


def autoreset_mode_from(value):
    """A ``gymnasium.vector.AutoresetMode`` from the enum or its value / name string."""
    from gymnasium.vector import AutoresetMode

    if isinstance(value, AutoresetMode):
        return value
    values, names = {m.value: m for m in AutoresetMode}, {m.name: m for m in AutoresetMode}
    if isinstance(value, str) and (value in values or value.upper() in names):
        return values.get(value) or names[value.upper()]
    raise ConfigError(
        f"autoreset_mode: received {value!r}; use one of {fmt_choices(values)} "
        "(or gymnasium.vector.AutoresetMode.SAME_STEP / NEXT_STEP / DISABLED)."
    )


def resolve(
    env_id: str = "SmpSteeringG1-v0",
    num_envs: int = 1,
    device=None,
    render_mode=None,
    max_episode_steps: int | None = None,
    autoreset_mode="SameStep",
    **overrides,
) -> ResolvedCfg:
    """Every default of an env decided, nothing built (see :func:`make_vec` for arguments)."""
    import torch

    from smp_gym.device import resolve_device
    from smp_gym.envs import task_spec
    from smp_gym.registry import task_info

    if not isinstance(num_envs, int) or isinstance(num_envs, bool) or num_envs < 1:
        raise ConfigError(f"num_envs: received {num_envs!r}; must be an int >= 1.")
    if render_mode not in (None, "rgb_array"):
        raise ConfigError(f"render_mode: received {render_mode!r}; use None or 'rgb_array'.")
    mode = autoreset_mode_from(autoreset_mode)
    cfg = build_cfg(env_id, **overrides)
    if max_episode_steps is not None:
        if cfg.episode_length_s is not None:
            raise ConfigError(
                f"make_vec: got both max_episode_steps={max_episode_steps} and "
                f"episode_length_s={cfg.episode_length_s}; pass only one."
            )
        if not isinstance(max_episode_steps, int) or max_episode_steps < 1:
            raise ConfigError(f"max_episode_steps: received {max_episode_steps!r}; int >= 1.")
    info, spec = task_info(env_id), task_spec(env_id)
    task = cfg.task if cfg.task is not None else spec.cfg_type()
    if not isinstance(task, spec.cfg_type):
        raise ConfigError(
            f"task: received {type(task).__name__}; {info.id} takes a {spec.cfg_type.__name__}."
        )
    dev = resolve_device(backend_device(cfg.backend, device))
    pool = cfg.gsi.pool_size or GSI_POOL.get(dev.type, GSI_POOL["cpu"])
    length_s = cfg.episode_length_s or info.episode_length_s
    return ResolvedCfg(
        env_id=info.id,
        num_envs=num_envs,
        device=str(dev),
        render_mode=render_mode,
        autoreset_mode=mode.value,
        task=task,
        prior=cfg.prior or info.default_prior,
        reward=cfg.reward or info.reward,
        gsi=dataclasses.replace(
            cfg.gsi, pool_size=pool, refresh_count=cfg.gsi.refresh_count or max(1, pool // 4)
        ),
        sim=cfg.sim,
        render=cfg.render,
        max_episode_steps=max_episode_steps or max(1, round(length_s / CONTROL_DT)),
        seed=cfg.seed,
        generator_seed=cfg.seed if cfg.seed is not None else int(torch.randint(2**31, ())),
        check_action_shape=cfg.validate_actions is not False,
        check_action_finite=bool(cfg.validate_actions)
        or (cfg.validate_actions is None and dev.type == "cpu"),
        clip_actions=cfg.clip_actions,
        reset_nonfinite=cfg.reset_nonfinite,
        compile_prior=cfg.compile_prior
        if cfg.compile_prior is not None
        else num_envs >= COMPILE_MIN_ENVS,
        verbose=cfg.verbose,
        backend=cfg.backend,
        num_threads=(cfg.num_threads or torch.get_num_threads())
        if cfg.backend == "native"
        else None,
    )


def build(cfg: ResolvedCfg):
    """Build the parts of ``cfg`` and assemble an :class:`~smp_gym.env.SmpVectorEnv`."""
    import torch

    from smp_gym.env import SmpVectorEnv
    from smp_gym.envs import task_spec
    from smp_gym.episodes import EpisodeStats
    from smp_gym.motion.window import MotionWindow
    from smp_gym.prior import checkpoint
    from smp_gym.reward import SmpReward
    from smp_gym.sim import io as sim_io
    from smp_gym.sim import mjlab_bridge

    spec, device = task_spec(cfg.env_id), torch.device(cfg.device)
    generator = torch.Generator(device).manual_seed(cfg.generator_seed)
    prior = checkpoint.load(cfg.prior, device)
    reward = SmpReward(prior, cfg.reward, spec.smp_termination(cfg.task), compile=cfg.compile_prior)
    writer = sim_io.StartStateWriter()
    sim = _build_sim(cfg, spec, prior, writer.event())
    reader = sim_io.FrameReader(sim, prior.layout)
    start_states = _build_start_states(cfg, sim, prior, reader.joint_ids, generator)
    writer.bind(start_states, reader.joint_ids)
    low, high = sim_io.action_bounds(sim)
    return SmpVectorEnv(
        cfg,
        task=spec,
        sim=sim,
        ops=mjlab_bridge.MjlabOps(
            writer, full_forward=mjlab_bridge.graphed_forward(sim), verbose=cfg.verbose
        ),
        prior=prior,
        reward=reward,
        reader=reader,
        start_states=start_states,
        window=MotionWindow(cfg.num_envs, prior.layout, device),
        episodes=EpisodeStats(cfg.num_envs, spec.metrics, device),
        generator=generator,
        action_bounds=(low.to(device), high.to(device)),
    )


def _build_sim(cfg: ResolvedCfg, spec, prior, write_start_state):
    """The task's mjlab env with our start-state writer as its last reset event, checked
    against the prior's feature layout."""
    from mjlab.managers.event_manager import EventTermCfg

    from smp_gym.sim import checks, mjlab_bridge

    # mjlab takes ceil(length / dt) steps; half a step below the target keeps float error out.
    sim_cfg = spec.make_sim_cfg(cfg.task, cfg.sim, (cfg.max_episode_steps - 0.5) * CONTROL_DT)
    sim_cfg.scene.num_envs = cfg.num_envs
    sim_cfg.seed = cfg.seed
    sim_cfg.events["smp_start_state"] = EventTermCfg(func=write_start_state, mode="reset")
    sim = mjlab_bridge.make_mjlab_env(  # we render
        sim_cfg, cfg.device, None, cfg.verbose, backend=cfg.backend, num_threads=cfg.num_threads
    )
    reset_terms = sim.event_manager.active_terms.get("reset", [])
    if not reset_terms or reset_terms[-1] != "smp_start_state":
        raise ConfigError(
            f"mjlab reset events are {reset_terms}; 'smp_start_state' must run last "
            "so observations see the written start state. Check cfg.events order."
        )
    checks.check_prior_matches_sim(
        prior.layout,
        sim,
        feature_dim=prior.model.cfg.feature_dim,
        prior_name=f"prior {prior.source}",
    )
    return sim


def _build_start_states(cfg: ResolvedCfg, sim, prior, joint_ids, generator):
    """Default pose / GSI pool (sampled from the prior) / dataset windows."""
    from smp_gym.gsi import GsiPool, Plausible, StartStates, warn_implausible
    from smp_gym.prior.sampling import DdpmChain

    g, robot, device = cfg.gsi, sim.scene["robot"], generator.device
    limits = robot.data.joint_pos_limits[:, joint_ids].to(device)  # [N, J, 2]
    pool = dataset = None
    if g.init == "gsi":
        check = Plausible(joint_low=limits[0, :, 0], joint_high=limits[0, :, 1])
        pool = GsiPool(
            lambda n: DdpmChain(prior, n, generator),
            g.pool_size,
            num_steps=prior.num_timesteps,
            batch_size=g.batch_size,
            refresh_interval=g.refresh_interval,
            refresh_count=g.refresh_count,
            progress=g.pool_size > 1024,
            validate=lambda w: check(w, prior.layout),
        )
        if not warn_implausible(pool, prior.source):
            pool = None  # nothing usable: start from the default pose (warned)
    elif g.init == "dataset":
        dataset = _load_dataset(g.dataset, prior.layout).to(device)
    return StartStates(
        prior.layout,
        default_root=robot.data.default_root_state.to(device),
        default_joint_pos=robot.data.default_joint_pos[:, joint_ids].to(device),
        pool=pool,
        dataset=dataset,
        random_heading=g.random_heading,
        generator=generator,
        joint_limits=limits,
    )


def _load_dataset(src: str, layout):
    """Windows [n, W, F] from a feature file (``smp-gym data features``) or motion files."""
    from pathlib import Path

    from smp_gym.errors import MotionDataError
    from smp_gym.motion import dataset
    from smp_gym.motion import io as motion_io

    path = Path(src)
    if path.suffix == ".npz" and path.is_file():
        try:
            return dataset.load_windows(path)[0].windows
        except MotionDataError:  # not a feature file: a motion NPZ, loaded below
            pass
    return dataset.build_windows(motion_io.load_motions(path, layout), layout).windows


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
    ``gsi``, ``sim``, ``task``) merge into the task's defaults. ``env.cfg`` is the resolved
    config (:func:`resolve`)."""
    return build(
        resolve(
            env_id, num_envs, device, render_mode, max_episode_steps, autoreset_mode, **overrides
        )
    )
