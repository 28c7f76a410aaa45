"""What ``SmpVectorEnv`` accepts from its caller, checked with errors that name the argument,
the value received and what is expected: actions (``ActionCheck``) and ``reset_mask``. Pure
torch/numpy."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from smp_gym.config import ResolvedCfg


class ActionCheck:
    """Actions [num_envs, action_dim] as float32 on the bounds' device: the shape checked (host
    metadata, no sync) when ``cfg.check_action_shape``, finiteness when ``check_action_finite``
    (one host sync), clipped to the joint range ``[low, high]`` when ``clip_actions``.

    ``low``/``high`` [action_dim] are the actions that put each joint's PD target on its lower /
    upper limit; the action *space* is the symmetric ``[-bound, bound]``, ``bound =
    max(|low|, |high|)``, so its midpoint, the zero action, is the default pose under any
    rescaling wrapper, and ±bound reach both limits (the nearer one saturates earlier)."""

    def __init__(self, low: Tensor, high: Tensor, *, cfg: ResolvedCfg) -> None:
        self.low, self.high, self.device = low, high, low.device
        self.bound = torch.maximum(low.abs(), high.abs())
        self.expected = (cfg.num_envs, low.shape[0])
        self.check_shape, self.check_finite = cfg.check_action_shape, cfg.check_action_finite
        self.clip, self.env_id = cfg.clip_actions, cfg.env_id

    def __call__(self, actions) -> Tensor:
        expected = self.expected
        try:
            a = torch.as_tensor(actions, device=self.device, dtype=torch.float32)
        except (TypeError, ValueError, RuntimeError, NotImplementedError) as err:
            where = getattr(actions, "device", type(actions).__name__)
            raise ValueError(
                f"actions: cannot use {where} actions on {self.device} ({err}); pass a "
                f"float tensor or array of shape {expected}."
            ) from err
        if self.check_shape and tuple(a.shape) != expected:
            raise ValueError(
                f"actions: received shape {tuple(a.shape)}; expected {expected} "
                f"(num_envs, action_dim) for {self.env_id}."
            )
        if self.check_finite and not bool(torch.isfinite(a).all()):
            bad = (~torch.isfinite(a)).any(dim=1).nonzero().squeeze(-1).tolist()
            raise ValueError(
                f"actions: NaN/inf values for envs {bad[:10]}; expected finite "
                f"actions of shape {expected}."
            )
        return torch.clamp(a, self.low, self.high) if self.clip else a


def check_reset_mask(mask, num_envs: int, device: torch.device) -> Tensor:
    """``reset_mask`` as a bool tensor on ``device``, or a ValueError naming it."""
    shape = tuple(getattr(mask, "shape", ()))
    dtype = getattr(mask, "dtype", type(mask).__name__)
    is_bool = dtype in (torch.bool, np.bool_) or (isinstance(dtype, np.dtype) and dtype == np.bool_)
    if not isinstance(mask, (Tensor, np.ndarray)) or not is_bool or shape != (num_envs,):
        raise ValueError(
            f"reset_mask: received {type(mask).__name__} of shape {shape} and dtype "
            f"{dtype}; expected a bool numpy array or torch tensor of shape "
            f"({num_envs},) (num_envs), True for the envs to reset."
        )
    mask = torch.as_tensor(mask, device=device)
    if not bool(mask.any()):
        raise ValueError(
            f"reset_mask: received all False (shape ({num_envs},)); set True for "
            "at least one env to reset, or pass no reset_mask to reset all."
        )
    return mask
