"""The native backend: mjlab's task layer on MuJoCo C (``mujoco.mj_step``) instead of MuJoCo Warp.

:class:`NativeSimulation` is a drop-in for mjlab's ``Simulation``. It keeps the Warp model and
data as the *storage* the task layer reads and writes through its torch views (``sim.data.qpos``,
``sim.model.geom_friction``, ...: persistent CPU tensors), and replaces the Warp kernels of
``step``/``forward`` with MuJoCo C run by a persistent thread pool over chunks of worlds. Each
thread owns one ``MjModel`` copy (the G1's is ~71 MB, so not one per world) and one ``MjData``;
before a world steps, its per-world (expanded) model fields are patched into the thread's model
and its state is loaded with ``mj_setState``. MuJoCo releases the GIL inside ``mj_step``.

Precision: MuJoCo C integrates in float64 while the task layer sees float32 tensors. The float64
state (time, qpos, qvel, act, warmstart) is kept on the native side; an element the task layer
changed since it was last published (a reset, a push, a start-state write, a NaN) differs from
the published float32 value and replaces the float64 one before the next substep.

Blow-ups behave as on Warp: a world whose state is not finite is not stepped (its NaN stays
visible to ``nonfinite_state``), and a world MuJoCo C would silently reset (bad qacc) is marked
NaN instead.
"""

from __future__ import annotations

import contextlib
import copy
from concurrent.futures import ThreadPoolExecutor

import mujoco
import numpy as np
import torch
import warp as wp
from mjlab.sim.sim import Simulation

from smp_gym.errors import ConfigError

_S = mujoco.mjtState
STATE = ("time", "qpos", "qvel", "act", "qacc_warmstart")
"""Integrated state, kept in float64 natively (mjSTATE bit order)."""
INPUTS = ("ctrl", "qfrc_applied", "xfrc_applied", "mocap_pos", "mocap_quat")
"""Written by the task layer only: loaded into MuJoCo every substep."""
_BITS = {
    "time": _S.mjSTATE_TIME,
    "qpos": _S.mjSTATE_QPOS,
    "qvel": _S.mjSTATE_QVEL,
    "act": _S.mjSTATE_ACT,
    "qacc_warmstart": _S.mjSTATE_WARMSTART,
    "ctrl": _S.mjSTATE_CTRL,
    "qfrc_applied": _S.mjSTATE_QFRC_APPLIED,
    "xfrc_applied": _S.mjSTATE_XFRC_APPLIED,
    "mocap_pos": _S.mjSTATE_MOCAP_POS,
    "mocap_quat": _S.mjSTATE_MOCAP_QUAT,
}
OUTPUTS = (
    "qacc", "xpos", "xquat", "xmat", "xipos", "ximat", "geom_xpos", "geom_xmat", "site_xpos",
    "site_xmat", "subtree_com", "cvel", "sensordata", "actuator_force", "qfrc_actuator",
    "ten_length", "ten_velocity",
)  # fmt: skip
"""Derived quantities published to the task layer after every native call: what mjlab's
entities, sensors and terms read (other Warp data fields are not refreshed on this backend)."""
NOT_LIGHT = ("qacc", "actuator_force", "qfrc_actuator", "ten_velocity")
"""Outputs the light forward does not compute: kept as they were (as Warp's light forward)."""
CONTACT_CAPACITY = 256
"""Contacts kept per world for the native self-collision check (G1 on a plane: ~15)."""


def _light(m: mujoco.MjModel, d: mujoco.MjData) -> None:
    """What observations read, without collision, constraints or the solver (like Warp's
    ``light_forward``): kinematics, COM quantities, tendons, position/velocity sensors."""
    mujoco.mj_kinematics(m, d)
    mujoco.mj_comPos(m, d)
    mujoco.mj_camlight(m, d)
    mujoco.mj_tendon(m, d)
    mujoco.mj_transmission(m, d)
    mujoco.mj_sensorPos(m, d)
    mujoco.mj_comVel(m, d)
    mujoco.mj_sensorVel(m, d)


_OPS = {"step": mujoco.mj_step, "forward": mujoco.mj_forward, "light": _light}


def _light_out(name: str) -> bool:
    return name not in NOT_LIGHT


def _flat(t: torch.Tensor, n: int) -> np.ndarray:
    return t.reshape(n, -1).numpy()


class NativeSimulation(Simulation):
    """mjlab's ``Simulation`` stepped by MuJoCo C on ``num_threads`` threads (CPU only)."""

    backend = "native"

    def __init__(self, num_envs: int, cfg, model=None, device: str = "cpu", *, spec=None,
                 variant_info=None, num_threads: int | None = None) -> None:  # fmt: skip
        if variant_info:
            raise ConfigError(
                "backend='native' does not support variant scenes (per-world meshes); "
                "use backend='warp'."
            )
        super().__init__(num_envs, cfg, model, device, spec=spec, variant_info=variant_info)
        self.num_threads = max(1, min(num_threads or torch.get_num_threads(), num_envs))
        self._ready = False
        self._pool: ThreadPoolExecutor | None = None
        self.float32_state = False
        """Round the state to float32 at every substep, as Warp stores it: the parity tests'
        baseline for how far float32 storage alone moves a trajectory."""
        n = num_envs
        self.ncon = torch.zeros(n, dtype=torch.int32)
        """Contacts per world after the last native step/forward. Shape: [num_envs]."""
        self.contact_geom = torch.full((n, CONTACT_CAPACITY, 2), -1, dtype=torch.int32)
        """The geom pairs of those contacts (-1 past ``ncon``). Shape: [num_envs, C, 2]."""

    # ------------------------------------------------------------------ mjlab's interface
    def step(self) -> None:
        self._run("step")

    def forward(self) -> None:
        self._run("forward")

    def light_forward(self) -> None:
        """Kinematics, COM velocities and position/velocity sensors only (see :func:`_light`)."""
        self._run("light")

    def set_sensor_context(self, ctx) -> None:
        raise ConfigError(
            "backend='native' does not support cameras or raycast sensors (they render with "
            "MuJoCo Warp); use backend='warp'."
        )

    def expand_model_fields(self, fields: tuple[str, ...]) -> None:
        super().expand_model_fields(fields)
        self._invalidate()  # new per-world arrays: rebuild the views

    def recompute_constants(self, level) -> None:
        super().recompute_constants(level)  # Warp's set_const, in place: patched per world

    def create_graph(self) -> None:
        self.step_graph = self.forward_graph = self.reset_graph = self.sense_graph = None

    def set_num_threads(self, num_threads: int) -> None:
        """Step on ``num_threads`` threads from the next call on (capped at ``num_envs``)."""
        if num_threads < 1:
            raise ConfigError(f"num_threads: received {num_threads}; must be >= 1.")
        self.close()
        self.num_threads = min(num_threads, self.num_envs)
        self._invalidate()

    def _invalidate(self) -> None:
        """Rebuild the native side at the next call, keeping the float64 state."""
        if self._ready:
            self._kept = {k: s.copy() for k, (_, s) in zip(STATE, self._state, strict=True)}
            self._kept_published = dict(zip(STATE, self._published, strict=True))
        self._ready = False

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # ------------------------------------------------------------------ native side
    def _setup(self) -> None:
        """Views on the Warp storage, float64 shadows and per-thread MuJoCo objects."""
        n, m = self.num_envs, self.mj_model
        view = {
            name: _flat(wp.to_torch(getattr(self.wp_data, name)), n)
            for name in STATE + INPUTS + OUTPUTS
        }
        spec_in = sum(int(_BITS[k]) for k in STATE + INPUTS)
        spec_out = sum(int(_BITS[k]) for k in STATE)
        self._spec_in, self._spec_out = spec_in, spec_out
        self._in = np.zeros((n, mujoco.mj_stateSize(m, spec_in)))
        self._out = np.zeros((n, mujoco.mj_stateSize(m, spec_out)))
        self._slots_in, self._slots_out = _slots(m, STATE + INPUTS), _slots(m, STATE)
        self._state = [(view[k], self._in[:, self._slots_in[k]]) for k in STATE]
        self._published = [v.copy() for v, _ in self._state]
        self._inputs = [(view[k], self._in[:, self._slots_in[k]]) for k in INPUTS]
        self._outputs = [(k, view[k]) for k in OUTPUTS if view[k].shape[1] > 0]
        self._fields = [
            (f, _flat(wp.to_torch(getattr(self.wp_model, f)), getattr(self.wp_model, f).shape[0]))
            for f in sorted(self.expanded_fields)
            if hasattr(m, f)
        ]
        for k, (v, s) in zip(STATE, self._state, strict=True):
            s[:] = v  # the start: what Warp's data holds (float64 kept across a rebuild)
            if k in getattr(self, "_kept", {}):
                np.copyto(s, self._kept[k], where=v == self._kept_published[k])
        self._threads = [self._thread_objects(m) for _ in range(self.num_threads)]
        bounds = np.linspace(0, n, self.num_threads + 1).round().astype(int)
        self._chunks = list(zip(range(self.num_threads), bounds[:-1], bounds[1:], strict=True))
        if self.num_threads > 1 and self._pool is None:
            self._pool = ThreadPoolExecutor(self.num_threads - 1, thread_name_prefix="smp-native")
        self._ncon, self._cgeom = self.ncon.numpy(), self.contact_geom.numpy()
        self._sensordata = view["sensordata"]
        self._ready = True

    def _thread_objects(self, m: mujoco.MjModel):
        tm = copy.deepcopy(m)
        d = mujoco.MjData(tm)
        patch = [(getattr(tm, f).reshape(-1), src) for f, src in self._fields]
        outs = {
            op: [(getattr(d, k).reshape(-1), dst) for k, dst in self._outputs if keep(k)]
            for op, keep in (("step", bool), ("forward", bool), ("light", _light_out))
        }
        return tm, d, patch, outs

    def _load(self) -> np.ndarray:
        """Carry task-layer writes into the float64 state; returns the worlds fit to step."""
        for (v, s), pub in zip(self._state, self._published, strict=True):
            changed = v != pub  # NaN != NaN: a NaN written stays NaN
            if self.float32_state:
                s[:] = v
            elif changed.any():
                np.copyto(s, v, where=changed)
        for v, s in self._inputs:
            s[:] = v
        return np.isfinite(self._in).all(axis=1)

    def _run(self, op: str) -> None:
        if not self._ready:
            self._setup()
        ok = self._load()
        if self._pool is None:
            self._chunk(op, ok, *self._chunks[0])
        else:
            futures = [self._pool.submit(self._chunk, op, ok, *c) for c in self._chunks[1:]]
            self._chunk(op, ok, *self._chunks[0])
            for f in futures:
                f.result()
        if op == "step":
            for k, (v, s), pub in zip(STATE, self._state, self._published, strict=True):
                np.copyto(s, self._out[:, self._slots_out[k]], where=ok[:, None])
                np.copyto(v, s)
                np.copyto(pub, v)

    def _chunk(self, op: str, ok: np.ndarray, t: int, lo: int, hi: int) -> None:
        """Worlds ``lo:hi`` on thread ``t``'s model and data."""
        m, d, patch, outs = self._threads[t]
        fn, outs, stepping, light = _OPS[op], outs[op], op == "step", op == "light"
        ncon, cgeom, sensors = self._ncon, self._cgeom, self._sensordata
        for i in range(lo, hi):
            if not ok[i]:
                continue  # a non-finite world stays as written (as Warp's NaN would)
            for dst, src in patch:
                dst[:] = src[i if src.shape[0] > 1 else 0]
            mujoco.mj_setState(m, d, self._in[i], self._spec_in)
            if light:
                d.sensordata[:] = sensors[i]  # acceleration sensors keep this world's values
            fn(m, d)
            for src, dst in outs:
                dst[i] = src
            if light:
                continue  # no collision detection: the contacts stay those of the last step
            n = min(d.ncon, CONTACT_CAPACITY)
            ncon[i] = d.ncon
            if n:
                cgeom[i, :n] = d.contact.geom[:n]
            cgeom[i, n:] = -1
            if stepping:
                mujoco.mj_getState(m, d, self._out[i], self._spec_out)
                if d.time != self._in[i, 0] + m.opt.timestep:  # MuJoCo reset a bad state
                    self._out[i, 1:] = np.nan  # (time restarts at 0); Warp would hold NaN


def _slots(m: mujoco.MjModel, names: tuple[str, ...]) -> dict[str, slice]:
    """Column ranges of each component inside an ``mj_getState`` vector of ``names``."""
    out, at = {}, 0
    for k in sorted(names, key=lambda k: int(_BITS[k])):
        size = mujoco.mj_stateSize(m, int(_BITS[k]))
        out[k] = slice(at, at + size)
        at += size
    return out


def check_supported(env_cfg) -> None:
    """A ConfigError for what needs MuJoCo Warp in an mjlab env config (differential IK);
    cameras, raycasts and variant scenes are refused when the simulation meets them."""
    from mjlab.envs.mdp.actions import DifferentialIKActionCfg

    for name, act in env_cfg.actions.items():
        if isinstance(act, DifferentialIKActionCfg):
            raise ConfigError(
                f"action {name!r}: differential IK needs MuJoCo Warp's Jacobians; "
                "backend='native' does not support it, use backend='warp'."
            )


def self_contacts(sim: NativeSimulation, counted: torch.Tensor) -> torch.Tensor:
    """Contacts per world whose two geoms are both ``counted`` (a [ngeom] bool mask), from the
    native contact lists of the last step. Shape: [num_envs] int."""
    most = int(sim.ncon.max()) if sim.num_envs else 0  # CPU tensors: no device sync
    geom = sim.contact_geom[:, : min(most, CONTACT_CAPACITY)]  # [N, C, 2], -1 past ncon
    live = geom[..., 0] >= 0
    pair = geom.clamp_min(0).long()
    return (live & counted[pair[..., 0]] & counted[pair[..., 1]]).sum(dim=-1)
