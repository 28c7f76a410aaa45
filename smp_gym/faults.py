"""Blown-up physics (NaN/inf state): counted on the device, warned about once. Pure torch."""

from __future__ import annotations

import warnings

import torch
from torch import Tensor


class NonfiniteWatch:
    """Counts envs whose physics state became NaN/inf and warns once. Looks at the device-side
    count every ``every`` calls on CUDA (one host sync each time), every call on the CPU."""

    def __init__(self, env_id: str, device: torch.device, every: int = 100) -> None:
        self.env_id, self.device, self.every = env_id, device, every
        self.seen = torch.zeros((), dtype=torch.long, device=device)
        self.warned, self.calls = False, 0

    def __call__(self, nonfinite: Tensor) -> None:
        """``nonfinite``: [num_envs] bool, the envs that blew up this step."""
        self.seen += nonfinite.sum()
        self.calls += 1
        if self.warned or (self.device.type != "cpu" and self.calls % self.every):
            return
        if not bool(self.seen > 0):
            return
        self.warned = True
        warnings.warn(
            f"{self.env_id}: the physics state of some envs became NaN/inf "
            f"({int(self.seen)} so far); they were terminated, reset and given "
            "reward 0 (info['nonfinite'] marks them). Usual causes: start states outside what "
            "the robot can reach (an undertrained prior or narrow normalization: try "
            "gsi={'init': 'default'}) or extreme actions.",
            RuntimeWarning,
            stacklevel=3,
        )
