"""Small helpers shared by the task files (pure torch; no mjlab import)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from smp_gym.errors import ConfigError


def to_heading_frame(v_w: Tensor, heading: Tensor) -> Tensor:
    """Rotate world xy vectors by -heading. [N, 2], [N] -> [N, 2]."""
    c, s = torch.cos(heading), torch.sin(heading)
    return torch.stack((c * v_w[:, 0] + s * v_w[:, 1], -s * v_w[:, 0] + c * v_w[:, 1]), dim=-1)


def check_range(name: str, r: tuple[float, float], low: float = -math.inf) -> None:
    """Raise unless ``r`` is a ``(min, max)`` pair with ``low <= min <= max``."""
    if len(r) != 2 or not (low <= r[0] <= r[1]):
        raise ConfigError(f"{name}: received {r!r}; need (min, max) with {low:g} <= min <= max.")
