"""The one place that decides which device to use."""

from __future__ import annotations

import torch

from smp_gym.errors import ConfigError


def resolve_device(spec: str | torch.device | None = None) -> torch.device:
    """Turn a device spec into a ``torch.device``.

    ``None`` or ``"auto"`` picks ``cuda`` when a GPU is visible, else ``cpu``. Under
    ``torchrun``, ``"cuda"`` means ``cuda:$LOCAL_RANK``.
    """
    if spec is None or spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError) as err:
        raise ConfigError(
            f"device: received {spec!r}, which torch cannot parse. "
            "Use 'cpu', 'cuda', 'cuda:N' or 'auto'."
        ) from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device: received {spec!r} but no CUDA device is visible. "
                "Use device='cpu' (or 'auto')."
            )
        if device.index is None:
            import os

            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    elif device.type != "cpu":
        raise ConfigError(f"device: received {spec!r}; smp_gym runs on 'cpu' or 'cuda' devices.")
    return device


def configure_backends() -> None:
    """Process-wide torch settings for training scripts (never called by library code).

    Enables TF32 matmuls and cuDNN autotuning on CUDA, the settings RL trainers use.
    """
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True
