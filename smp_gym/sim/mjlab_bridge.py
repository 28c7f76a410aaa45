"""mjlab at arm's length: the one module that builds mjlab's env and the only one that uses
mjlab's private names (written against mjlab 1.6; ``TESTED_MJLAB``).

What we rely on beyond mjlab's public API, each listed in :data:`PRIVATE_NAMES` and checked by
:func:`api_problems` (at construction for the names, in ``tests/sim/test_mjlab_bridge.py`` for
the copied code):

- ``ManagerBasedRlEnv._reset_idx(env_ids)``: the reset pipeline (reset events, then every
  manager's reset); :func:`reset_envs` runs it.
- ``ManagerBasedRlEnv._manual_reset_pending``: the ``[num_envs]`` bool mask mjlab's ``step()``
  sets for ended envs when ``auto_reset=False``; :func:`defer_reset` clears it.
- :func:`reset_envs` is a copy of the body of ``ManagerBasedRlEnv.reset()``; its source is
  pinned by hash (:data:`RESET_SOURCE_SHA256`), so a changed ``reset()`` is noticed.
- mjlab prints ``CUDA Graphs disabled: <reason>`` (``Simulation._should_use_cuda_graph``, which
  the bridge's test runs to pin the text) and nothing else; :func:`make_mjlab_env` captures it
  and warns.
- ``mjlab.envs.manager_based_rl_env.Simulation``: the name mjlab's env builds its physics
  by; :func:`simulation_class` swaps in the native backend's while one env is built.
- ``CommandTerm``'s hooks (``_resample_command``, ``_update_command``, ``_update_metrics``),
  which the task files' commands implement: mjlab's subclass API.

Nothing else in the repository touches an mjlab private name (``tests/sim/test_mjlab_bridge.py``
scans the source tree for it) or imports ``mujoco_warp`` (an import-linter contract).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import inspect
import io
import re
import warnings

import torch
from torch import Tensor

from smp_gym.errors import SmpGymError

TESTED_MJLAB = "1.6"
"""The mjlab minor version this module was written and tested against."""
PRIVATE_NAMES = ("_reset_idx", "_manual_reset_pending")
"""mjlab private attributes used here (on ``ManagerBasedRlEnv`` instances)."""
COMMAND_HOOKS = ("_resample_command", "_update_command", "_update_metrics")
"""``CommandTerm``'s hook methods a task's command implements (mjlab's subclass API)."""
RESET_SOURCE_SHA256 = "ade06524355e23aade5d4cdde51281536ea421e934e2cbaf204c6e053762c591"
"""sha256 of ``inspect.getsource(ManagerBasedRlEnv.reset)`` in mjlab 1.6.0 (whitespace-stripped
lines): :func:`reset_envs` copies its body."""
_GRAPHS_OFF = re.compile(r"CUDA Graphs disabled: ?(.*)")


class MjlabApiError(SmpGymError, RuntimeError):
    """The installed mjlab lacks (or changed) a private name smp_gym relies on."""


def mjlab_version() -> str:
    """The installed mjlab's version string (``"1.6.0"``)."""
    return importlib.metadata.version("mjlab")


def reset_source_sha256() -> str:
    from mjlab.envs import ManagerBasedRlEnv

    lines = inspect.getsource(ManagerBasedRlEnv.reset).splitlines()
    return hashlib.sha256("\n".join(x.strip() for x in lines).encode()).hexdigest()


def api_problems(
    env=None, *, env_cls=None, command_cls=None, check_source: bool = True
) -> list[str]:
    """Every way the installed mjlab differs from what this module relies on (empty: none).
    ``env``: also check the instance attributes of a built ``ManagerBasedRlEnv``;
    ``env_cls`` / ``command_cls``: stand-ins for mjlab's classes (tests)."""
    if env_cls is None:
        from mjlab.envs import ManagerBasedRlEnv as env_cls
    if command_cls is None:
        from mjlab.managers.command_manager import CommandTerm as command_cls

    out = []
    if not callable(getattr(env_cls, "_reset_idx", None)):
        out.append("ManagerBasedRlEnv._reset_idx(env_ids) is gone")
    source = inspect.getsource(command_cls) if inspect.isclass(command_cls) else ""
    missing = [
        h for h in COMMAND_HOOKS if not callable(getattr(command_cls, h, None)) or h not in source
    ]
    if missing:
        out.append(f"CommandTerm's hooks {missing} are gone (the task commands implement them)")
    if env is not None:
        pending = getattr(env, "_manual_reset_pending", None)
        if not (isinstance(pending, Tensor) and pending.dtype == torch.bool):
            out.append("ManagerBasedRlEnv._manual_reset_pending is no longer a bool tensor")
    if check_source and reset_source_sha256() != RESET_SOURCE_SHA256:
        out.append(
            "ManagerBasedRlEnv.reset() changed (smp_gym.sim.mjlab_bridge.reset_envs copies its "
            "body: port the change, then update RESET_SOURCE_SHA256)"
        )
    return out


def raise_for(problems: list[str]) -> None:
    if problems:
        raise MjlabApiError(
            f"mjlab {mjlab_version()} (smp_gym was written against {TESTED_MJLAB}.x): "
            + "; ".join(problems)
            + f". Install mjlab~={TESTED_MJLAB}.0 or update smp_gym/sim/mjlab_bridge.py."
        )


def make_mjlab_env(
    sim_cfg,
    device: torch.device,
    render_mode: str | None,
    verbose: bool,
    *,
    backend: str = "warp",
    num_threads: int | None = None,
):
    """Build mjlab's ``ManagerBasedRlEnv`` from ``sim_cfg`` (a ``ManagerBasedRlEnvCfg``) on
    ``device``. mjlab's manager tables are printed only when ``verbose``; its "CUDA Graphs
    disabled" notice becomes a ``RuntimeWarning`` naming mjlab's reason. Raises
    :class:`MjlabApiError` when the installed mjlab lacks a private name this module uses.
    ``backend="native"``: the physics is :class:`smp_gym.sim.native.NativeSimulation`
    (MuJoCo C on ``num_threads`` threads), swapped in for mjlab's ``Simulation``."""
    from mjlab.envs import ManagerBasedRlEnv

    physics = contextlib.nullcontext()
    if backend == "native":
        from smp_gym.sim import native

        native.check_supported(sim_cfg)
        physics = simulation_class(
            lambda *a, **kw: native.NativeSimulation(*a, num_threads=num_threads, **kw)
        )
    out = io.StringIO()
    with contextlib.redirect_stdout(out), physics:
        sim = ManagerBasedRlEnv(sim_cfg, device=str(device), render_mode=render_mode)
    if verbose:
        print(out.getvalue(), end="")
    warn_if_graphs_off(out.getvalue(), device, sim.sim.use_cuda_graph)
    raise_for(api_problems(sim, check_source=False))
    return sim


@contextlib.contextmanager
def simulation_class(factory):
    """mjlab's env builds its physics as ``Simulation(...)``, looked up in its module
    (``mjlab.envs.manager_based_rl_env.Simulation``): swap in ``factory`` while one is built."""
    import mjlab.envs.manager_based_rl_env as rl_env

    if not hasattr(rl_env, "Simulation"):
        raise_for(["mjlab.envs.manager_based_rl_env no longer builds its env's Simulation by name"])
    original = rl_env.Simulation
    rl_env.Simulation = factory
    try:
        yield
    finally:
        rl_env.Simulation = original


def warn_if_graphs_off(printed: str, device: torch.device, use_cuda_graph: bool) -> str | None:
    """On a CUDA device without CUDA graphs, warn once with the reason mjlab printed (mjlab
    only ``print``s it). Returns the warning text, or None."""
    if torch.device(device).type != "cuda" or use_cuda_graph:
        return None
    found = _GRAPHS_OFF.search(printed)
    reason = found.group(1).strip() if found else "no reason printed"
    msg = (
        f"mjlab runs the physics without CUDA graphs on {device} (mjlab: {reason}): every "
        "step launches its kernels one by one, several times slower at scale. Needs Warp's "
        "memory pool and a CUDA driver >= 12.4."
    )
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return msg


def graphed_forward(sim) -> bool:
    """Whether mjlab's ``forward()`` is one captured CUDA graph launch (CUDA with graphs on).
    Then a reset uses it; otherwise (CPU, or CUDA without graphs) :func:`light_forward`."""
    s = sim.sim
    return bool(s.use_cuda_graph and s.forward_graph is not None)


def defer_reset(env, mask: Tensor) -> None:
    """Let envs that ended (``auto_reset=False`` marks them reset-pending) take one more step
    before their reset: the NEXT_STEP autoreset mode steps them, discards that step and resets
    them afterwards. Tensor op only."""
    env._manual_reset_pending &= ~mask


def light_forward(sim) -> None:
    """Refresh what observations read (kinematics, COM velocities, position/velocity sensors)
    without collision detection, constraints or the solver: ~50x cheaper than ``forward()``
    on CPU. The next ``mj_step`` starts with a full forward anyway."""
    if hasattr(sim, "light_forward"):  # the native backend's (smp_gym.sim.native)
        sim.light_forward()
        return
    import mujoco_warp as mjwarp
    import warp as wp

    with wp.ScopedDevice(sim.wp_device):
        mjwarp.fwd_kinematics(sim.wp_model, sim.wp_data)
        mjwarp.com_vel(sim.wp_model, sim.wp_data)
        mjwarp.sensor_pos(sim.wp_model, sim.wp_data)
        mjwarp.sensor_vel(sim.wp_model, sim.wp_data)


def reset_envs(env, env_ids: Tensor, *, full_forward: bool) -> dict:
    """``ManagerBasedRlEnv.reset(env_ids=...)`` (mjlab 1.6's body), with :func:`light_forward`
    instead of ``forward()`` unless ``full_forward`` (:func:`graphed_forward`: on CUDA the
    captured graph is one launch, the light forward several eager ones). Reset events (our
    start-state writer last), manager resets and the observation backfill run exactly as in
    mjlab; ``tests/sim/test_sim_layer.py`` pins the observations to mjlab's own ``reset()``."""
    env.extras["log"] = dict()
    env._reset_idx(env_ids)
    env.scene.write_data_to_sim()
    if full_forward:
        env.sim.forward()
    else:
        light_forward(env.sim)
    env.command_manager.compute(dt=0.0, env_ids=env_ids)
    env.sim.sense()
    env.obs_buf = env.observation_manager.compute(update_history=True, env_ids=env_ids)
    env.recorder_manager.record_post_reset(env_ids)
    return env.obs_buf


class MjlabOps:
    """What ``SmpVectorEnv`` asks of the simulator beyond its public step/seed/render: reset
    envs to drawn start states, defer a reset, detect blown-up physics. One per env."""

    def __init__(self, writer, *, full_forward: bool, verbose: bool = False) -> None:
        self.writer = writer  # sim.io.StartStateWriter, registered as the last reset event
        self.full_forward, self.verbose = full_forward, verbose

    def seed(self, sim, seed: int) -> None:
        """Seed mjlab's (global torch/numpy/warp) RNGs; its "Setting seed" line only if verbose."""
        with (
            contextlib.redirect_stdout(io.StringIO())
            if not self.verbose
            else contextlib.nullcontext()
        ):
            sim.seed(seed)

    def reset(self, sim, env_ids: Tensor, start) -> dict:
        """Reset ``env_ids`` through mjlab's reset pipeline, whose last event writes ``start``
        (a ``gsi.StartState``). Returns mjlab's observation groups of all envs."""
        self.writer.staged = (env_ids, start)
        try:
            return reset_envs(sim, env_ids, full_forward=self.full_forward)
        finally:
            self.writer.staged = None

    def defer_reset(self, sim, mask: Tensor) -> None:
        defer_reset(sim, mask)

    def nonfinite(self, sim) -> Tensor:
        from smp_gym.sim.io import nonfinite_state

        return nonfinite_state(sim)
