"""The pretraining settings: pure data (stdlib only), so the ``smp-gym`` command line and
configs can name them without importing torch. Validated in ``__post_init__``, never rewritten."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from smp_gym.errors import ConfigError


@dataclass(frozen=True, kw_only=True)
class DenoiserCfg:
    feature_dim: int = 59
    """Features per frame (F)."""
    window: int = 10
    """Frames per window (W)."""
    d_model: int = 128
    """Transformer width (the reference's shipped priors use 128)."""
    nhead: int = 4
    """Attention heads (not visible in any weight shape, so it is stored explicitly)."""
    num_layers: int = 2
    """Number of DiT blocks."""
    dropout: float = 0.0
    """Dropout after attention and inside the MLP (training only)."""

    def __post_init__(self) -> None:
        if self.d_model % self.nhead:
            raise ConfigError(
                f"DenoiserCfg.d_model: {self.d_model} is not divisible by nhead={self.nhead}."
            )
        for name in ("feature_dim", "window", "d_model", "nhead", "num_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"DenoiserCfg.{name}: received {getattr(self, name)}; need >= 1.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"DenoiserCfg.dropout: received {self.dropout}; need 0 <= p < 1.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class PretrainCfg:
    """Optimization settings; defaults follow the reference (docs/reference.md#pretraining) except where noted."""

    model: DenoiserCfg = field(default_factory=DenoiserCfg)
    """Denoiser architecture (feature_dim/window are taken from the data)."""
    steps: int = 10_000
    """Optimizer steps."""
    batch_size: int = 1024
    """Windows per step (each replicated ``noise_samples`` times with independent t, ε)."""
    noise_samples: int = 10
    """(t, ε) draws per window per step (the reference's K = 10)."""
    lr: float = 3e-4
    weight_decay: float = 1e-4
    max_grad_norm: float = 1.0
    """Global grad-norm clip (0 disables)."""
    num_timesteps: int = 50
    """Diffusion steps T of the cosine schedule."""
    ema_decay: float = 0.0
    """EMA of the weights (0 disables; the shipped reference priors used none)."""
    focus_max_t: int = 0
    """If > 0, draw half of the training timesteps from [0, focus_max_t] instead of [0, T): more
    training where the reward scores (K = 8, 15, 22). 0 = uniform (the reference)."""
    lr_final_frac: float = 1.0
    """Cosine-decay the learning rate to lr·lr_final_frac over ``steps`` (1 = constant, the reference)."""
    eval_every: int = 250
    """Held-out loss / log interval in steps."""
    save_every: int = 1000
    """Training checkpoint interval in steps."""
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "steps",
            "batch_size",
            "noise_samples",
            "num_timesteps",
            "eval_every",
            "save_every",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"PretrainCfg.{name}: received {getattr(self, name)}; need >= 1.")
        if self.lr <= 0:
            raise ConfigError(f"PretrainCfg.lr: received {self.lr}; need > 0.")
        if not 0.0 < self.lr_final_frac <= 1.0:
            raise ConfigError(
                f"PretrainCfg.lr_final_frac: received {self.lr_final_frac}; need (0, 1]."
            )
        if not 0 <= self.focus_max_t < self.num_timesteps:
            raise ConfigError(f"PretrainCfg.focus_max_t: received {self.focus_max_t}; need [0, T).")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"PretrainCfg.ema_decay: received {self.ema_decay}; need [0, 1).")
