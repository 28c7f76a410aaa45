"""Where episodes start: ``GsiPool`` (windows sampled from the prior, refreshed in the
background) and ``StartStates`` (default pose / GSI / dataset windows -> simulator start states).

The sampler is injected (``Callable[[int], DdpmChain-like]``) so tests can use a fake. A
refresh draws ``refresh_count`` new windows whose T denoising steps are spread over the
refresh interval: ``tick()`` advances the pending chain by at most one denoising step every
``max(1, interval // T)`` env steps, so no single env step pays for a whole batch. Windows that
fail the ``validate`` check (non-finite, or implausible for the robot) are never drawn.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from smp_gym.errors import ConfigError
from smp_gym.motion.features import (
    Frames,
    InitState,
    features_to_frames,
    init_state_from_frames,
    rotate_z,
)
from smp_gym.motion.layout import FeatureLayout
from smp_gym.motion.rotations import quat_from_yaw, quat_mul


class Chain(Protocol):
    """A batch of samples being produced step by step (see ``prior.sampling.DdpmChain``)."""

    @property
    def done(self) -> bool: ...

    def advance(self) -> None: ...

    def result(self) -> Tensor: ...


class GsiPool:
    """Pool of raw-feature windows [size, W, F] with amortized FIFO refresh."""

    def __init__(
        self,
        make_chain: Callable[[int], Chain],
        size: int,
        *,
        num_steps: int,
        batch_size: int = 1024,
        refresh_interval: int = 2400,
        refresh_count: int = 1024,
        progress: bool = False,
        validate: Callable[[Tensor], Tensor] | None = None,
    ) -> None:
        if refresh_count > size:
            raise ConfigError(f"gsi.refresh_count={refresh_count} > pool size {size}.")
        self.make_chain = make_chain
        self.validate = validate
        self.size = size
        self.batch_size = batch_size
        self.refresh_interval = refresh_interval
        self.refresh_count = refresh_count
        self.ticks_per_step = (
            max(1, refresh_interval // max(num_steps, 1)) if refresh_interval else 0
        )
        self._num_steps = num_steps
        self.head = 0  # next pool row a refresh overwrites
        self.refreshes = 0  # completed refreshes
        self._tick = 0
        self._chain: Chain | None = None
        self.pool = self._fill(progress)
        self.valid = torch.ones(size, dtype=torch.bool, device=self.pool.device)
        self._check(torch.arange(size, device=self.pool.device))

    def _fill(self, progress: bool) -> Tensor:
        parts, starts = [], range(0, self.size, self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="GSI pool", unit="batch", leave=False)
        for start in starts:
            chain = self.make_chain(min(self.batch_size, self.size - start))
            while not chain.done:
                chain.advance()
            parts.append(chain.result())
        return torch.cat(parts)

    def _check(self, rows: Tensor) -> None:
        """Re-validate ``rows`` of the pool (at fill and refresh only: one host sync each)."""
        if self.validate is not None:
            self.valid[rows] = self.validate(self.pool[rows])
        self.num_valid = int(self.valid.sum())

    @property
    def valid_fraction(self) -> float:
        return self.num_valid / self.size

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` valid windows drawn uniformly with replacement. Shape: [n, W, F]."""
        if self.num_valid == self.size:
            idx = torch.randint(0, self.size, (n,), generator=generator, device=self.pool.device)
        elif self.num_valid == 0:
            raise ConfigError(
                "GSI pool: no valid start window to draw; use gsi={'init': 'default'}."
            )
        else:
            idx = torch.multinomial(self.valid.float(), n, replacement=True, generator=generator)
        return self.pool[idx]

    def tick(self) -> None:
        """Call once per env step: advances the pending refresh (if any) by at most one step."""
        if not self.ticks_per_step:
            return
        self._tick += 1
        if self._chain is None and self._tick % self.refresh_interval == 0:
            self._chain = self.make_chain(self.refresh_count)
        if self._chain is not None and self._tick % self.ticks_per_step == 0:
            self._chain.advance()
            if self._chain.done:
                self._insert(self._chain.result())
                self._chain = None

    def expected_refreshes(self, ticks: int) -> int:
        """Refreshes complete after ``ticks`` env steps: the k-th starts at tick k·interval and is
        inserted ``num_steps - 1`` advances (``ticks_per_step`` apart) later."""
        if not self.ticks_per_step:
            return 0
        return max(
            0, (ticks - (self._num_steps - 1) * self.ticks_per_step) // self.refresh_interval
        )

    def _insert(self, windows: Tensor) -> None:
        n = windows.shape[0]
        idx = (self.head + torch.arange(n, device=self.pool.device)) % self.size
        self.pool[idx] = windows
        self._check(idx)
        self.head = (self.head + n) % self.size
        self.refreshes += 1

    def state_dict(self) -> dict:
        """Pool contents and FIFO head (a pending refresh restarts after loading)."""
        return {
            "pool": self.pool.clone(),
            "head": self.head,
            "tick": self._tick,
            "refreshes": self.refreshes,
        }

    def load_state_dict(self, state: dict) -> None:
        keys = {"pool", "head", "tick", "refreshes"}
        if (
            not isinstance(state, dict)
            or not keys <= set(state)
            or not isinstance(state["pool"], Tensor)
        ):
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ConfigError(
                f"GsiPool.load_state_dict: received {got}; expected a dict with keys "
                f"{sorted(keys)} ('pool' a Tensor) as saved by state_dict()."
            )
        if state["pool"].shape != self.pool.shape:
            raise ConfigError(
                f"GSI pool state has shape {tuple(state['pool'].shape)}, this env's pool is "
                f"{tuple(self.pool.shape)}; build the env with the same gsi.pool_size and prior."
            )
        self.pool.copy_(state["pool"])
        self._check(torch.arange(self.size, device=self.pool.device))
        self.head, self._tick = int(state["head"]), int(state["tick"])
        self.refreshes = int(state["refreshes"])
        self._chain = None


# ---------------------------------------------------------------------------------- start states
@dataclass(frozen=True, kw_only=True)
class Plausible:
    """Bounds a start window must satisfy on every frame (robot facts, not prior facts)."""

    joint_low: Tensor
    """Lower joint limits in layout order. Shape: [J]."""
    joint_high: Tensor
    height_range: tuple[float, float] = (0.02, 1.6)
    """Root height (m) of every frame."""
    joint_margin: float = 0.5
    """Joint positions may exceed their limits by this much (rad; the write clamps them)."""
    max_lin_vel: float = 15.0
    max_ang_vel: float = 40.0
    max_ee_offset: float = 1.5
    """End-effector distance from the root (m)."""
    rot6d_norm: tuple[float, float] = (0.5, 1.5)
    """Norms of the two tan-norm columns (1 for a rotation)."""

    def __call__(self, windows: Tensor, layout: FeatureLayout) -> Tensor:
        """Which raw-feature windows [n, W, F] are plausible. Shape: [n] bool."""
        s = layout.slices
        z = windows[..., s["root_pos"]][..., 2]
        jp = windows[..., s["joint_pos"]]
        rot = windows[..., s["root_rot"]].unflatten(-1, (2, 3)).norm(dim=-1)
        ee = windows[..., s["ee_pos"]].unflatten(-1, (layout.num_ees, 3)).norm(dim=-1)
        ok = (
            torch.isfinite(windows).all(dim=-1)
            & (z >= self.height_range[0])
            & (z <= self.height_range[1])
            & (jp >= self.joint_low - self.joint_margin).all(dim=-1)
            & (jp <= self.joint_high + self.joint_margin).all(dim=-1)
            & (windows[..., s["root_lin_vel"]].norm(dim=-1) <= self.max_lin_vel)
            & (windows[..., s["root_ang_vel"]].norm(dim=-1) <= self.max_ang_vel)
            & (ee <= self.max_ee_offset).all(dim=-1)
            & (rot >= self.rot6d_norm[0]).all(dim=-1)
            & (rot <= self.rot6d_norm[1]).all(dim=-1)
        )
        return ok.all(dim=-1)


@dataclass
class StartState:
    """One draw of start states: what the simulator is given and the window that ends there."""

    state: InitState
    """Env-local world-frame start state (root pose/velocity, joint state). Leading dim: [n]."""
    frames: Tensor | None
    """Packed window frames [n, W, D] ending at ``state``, or None for a still window of the
    written state (the default pose)."""


class StartStates:
    """Draws episode start states: the robot's default pose, the last frame of a window sampled
    from the prior (GSI) or of a real motion window (dataset). ``sample`` runs *before* the
    simulator's reset, which writes ``state``; the env then primes its motion window from the
    same draw."""

    def __init__(
        self,
        layout: FeatureLayout,
        *,
        default_root: Tensor,
        default_joint_pos: Tensor,
        pool: GsiPool | None = None,
        dataset: Tensor | None = None,
        random_heading: bool = False,
        generator: torch.Generator | None = None,
        joint_limits: Tensor | None = None,
    ) -> None:
        self.layout = layout
        self.joint_limits = joint_limits  # [N, J, 2] per env, layout joint order (None: no clamp)
        self.default_root, self.default_joint_pos = (
            default_root,
            default_joint_pos,
        )  # [N, 13], [N, J]
        self.pool, self.dataset = pool, dataset
        self.random_heading = random_heading
        self.generator = generator

    @property
    def mode(self) -> str:
        return (
            "gsi" if self.pool is not None else "dataset" if self.dataset is not None else "default"
        )

    def sample(self, env_ids: Tensor) -> StartState:
        """Start states for ``env_ids`` (a fresh draw every call)."""
        n, device = env_ids.shape[0], self.default_root.device
        yaw = torch.zeros(n, device=device)
        if self.random_heading:
            yaw.uniform_(-math.pi, math.pi, generator=self.generator)
        if self.mode == "default":
            root, jp = self.default_root[env_ids], self.default_joint_pos[env_ids]
            quat = quat_mul(quat_from_yaw(yaw), root[:, 3:7])
            state = InitState(
                root[:, :3],
                quat,
                rotate_z(root[:, 7:10], yaw),
                rotate_z(root[:, 10:13], yaw),
                jp,
                torch.zeros_like(jp),
            )
            return StartState(state=state, frames=None)
        if self.pool is not None:
            windows = self.pool.sample(n, self.generator)
        else:
            idx = torch.randint(
                0, self.dataset.shape[0], (n,), generator=self.generator, device=device
            )
            windows = self.dataset[idx]
        frames = features_to_frames(windows, self.layout, torch.zeros(n, 2, device=device), yaw)
        return StartState(
            state=init_state_from_frames(frames, self.layout.dt), frames=frames.pack()
        )

    def window_frames(self, start: StartState, written: Tensor, env_ids: Tensor) -> Tensor:
        """The motion window [n, W, D] a reset primes ``env_ids`` with: a still window of the
        ``written`` frame [n, D] (read back from the simulator) for the default pose, else the
        drawn window with joints clamped to the limits and ``written`` as its last frame."""
        if start.frames is None:
            return written.unsqueeze(1).expand(-1, self.layout.window, -1)
        frames = start.frames.clone()
        if self.joint_limits is not None:
            jp = Frames.unpack(frames, self.layout).joint_pos  # a view into frames
            limits = self.joint_limits[env_ids][:, None]
            jp.copy_(torch.clamp(jp, limits[..., 0], limits[..., 1]))
        frames[:, -1] = written
        return frames


def warn_implausible(pool: GsiPool, prior_name: str, min_fraction: float = 0.95) -> bool:
    """Warn once when more than ``1 - min_fraction`` of a GSI pool is implausible for the robot.
    Returns False when no window is usable (the env then starts from the default pose)."""
    if pool.valid_fraction >= min_fraction:
        return True
    bad = pool.size - pool.num_valid
    usable = pool.num_valid > 0
    warnings.warn(
        f"prior {prior_name}: {bad}/{pool.size} GSI start windows are implausible for the robot "
        "(non-finite, root height, joints far beyond their limits, extreme velocities or "
        "end-effector offsets); "
        + (
            "episodes start only from the others. "
            if usable
            else "episodes start from the default pose. "
        )
        + "The prior is likely undertrained or fit on too narrow data. Fixes: train longer "
        "(smp-gym pretrain --cfg.steps ...), fit the normalization on wider data (more clips, "
        "--mirror), or start episodes from the default pose: make_vec(..., gsi={'init': 'default'}).",
        RuntimeWarning,
        stacklevel=3,
    )
    return usable
