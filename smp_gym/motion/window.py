"""MotionWindow: a per-env ring buffer of the last W kinematic frames.

All envs push one frame per step, so one shared ring index suffices: ``push`` writes a
single slot in place (no ``torch.roll`` copies) and ``features`` gathers the slots in
chronological order into a preallocated buffer.
"""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.errors import ConfigError
from smp_gym.motion.features import Frames, compute_features
from smp_gym.motion.layout import FeatureLayout


class MotionWindow:
    """Last ``layout.window`` frames for ``num_envs`` envs. Storage: [num_envs, W, D]."""

    def __init__(self, num_envs: int, layout: FeatureLayout, device: torch.device | str) -> None:
        if num_envs <= 0:
            raise ConfigError(f"MotionWindow.num_envs: received {num_envs}; must be >= 1.")
        self.layout = layout
        self.num_envs = num_envs
        w, d = layout.window, Frames.packed_dim(layout)
        self._buf = torch.zeros(num_envs, w, d, device=device)
        self._buf[..., 3] = 1.0  # identity quaternions
        self._ordered = torch.empty_like(self._buf)
        # _orders[h] lists the slots from oldest to newest when the oldest frame is in slot h.
        ar = torch.arange(w, device=device)
        self._orders = [(ar + h) % w for h in range(w)]
        self._head = 0  # slot of the oldest frame == slot the next push overwrites

    @property
    def device(self) -> torch.device:
        return self._buf.device

    def push(self, frame: Frames | Tensor) -> None:
        """Append one frame per env (dropping the oldest). frame: Frames [N] or packed [N, D]."""
        packed = frame.pack() if isinstance(frame, Frames) else frame
        self._buf[:, self._head].copy_(packed)
        self._head = (self._head + 1) % self.layout.window

    def reset(self, env_ids: Tensor, frames: Frames | Tensor) -> None:
        """Overwrite the whole window of ``env_ids`` with chronological frames [n, W, ...]."""
        packed = frames.pack() if isinstance(frames, Frames) else frames
        slots = self._orders[self._head]
        self._buf[env_ids[:, None], slots[None, :]] = packed

    def frames(self) -> Tensor:
        """Chronological packed frames [N, W, D] (a view of an internal buffer: copy to keep)."""
        torch.index_select(self._buf, 1, self._orders[self._head], out=self._ordered)
        return self._ordered

    def features(self) -> Tensor:
        """Features of every env's window. Shape: [N, W, F]."""
        return compute_features(Frames.unpack(self.frames(), self.layout), self.layout)

    def state_dict(self) -> dict:
        return {"buf": self._buf.clone(), "head": self._head}

    def load_state_dict(self, state: dict) -> None:
        self._buf.copy_(state["buf"])
        self._head = int(state["head"])
