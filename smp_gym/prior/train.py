"""The pure pretraining step: L1 ε-prediction on normalized feature windows
(docs/reference.md#pretraining).

:class:`DiffusionTrainer` owns the denoiser, its EMA, the optimizer, the cosine schedule and the
``torch.Generator`` that draws batches, timesteps and noise; :meth:`DiffusionTrainer.step` runs one
optimizer step and returns the loss as a 0-dim tensor (no host sync). Nothing here logs, writes
files, splits data or touches the global RNG: the application around it (TensorBoard, CSV,
progress bar, seeding, data split, provenance, resumable run folder) is
``smp_gym.tools.pretrain``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import torch
import torch.nn.functional as F

from smp_gym.errors import ConfigError
from smp_gym.prior.config import PretrainCfg
from smp_gym.prior.denoiser import Denoiser
from smp_gym.prior.schedule import DdpmSchedule

# Settings a resumed run must share with the checkpoint it resumes (``steps`` too when the
# learning rate decays, since the cosine schedule depends on the total step count).
_RESUME_KEYS = (
    "model",
    "batch_size",
    "noise_samples",
    "lr",
    "num_timesteps",
    "ema_decay",
    "seed",
    "focus_max_t",
    "lr_final_frac",
)


def diffusion_loss(
    model: Denoiser,
    schedule: DdpmSchedule,
    x0: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    focus_max_t: int = 0,
) -> torch.Tensor:
    """Mean L1 between predicted and true noise over k (t, ε) draws per window. x0: [B, W, F]."""
    xk = x0.repeat(k, 1, 1)
    n = xk.shape[0]
    t = torch.randint(0, schedule.num_timesteps, (n,), device=x0.device, generator=generator)
    if focus_max_t > 0:
        low = torch.randint(0, focus_max_t + 1, (n,), device=x0.device, generator=generator)
        t = torch.where(torch.arange(n, device=x0.device) % 2 == 0, low, t)
    eps = torch.randn(xk.shape, device=x0.device, generator=generator)
    return F.l1_loss(model(schedule.add_noise(xk, eps, t), t), eps)


@torch.no_grad()
def heldout_loss(
    model, schedule, x0: torch.Tensor, k: int = 4, seed: int = 1234, chunk: int = 2048
) -> float:
    """Deterministic (fixed noise) held-out L1 loss."""
    model.eval()
    g = torch.Generator(device=x0.device).manual_seed(seed)
    total, n = 0.0, 0
    for i in range(0, x0.shape[0], chunk):
        part = x0[i : i + chunk]
        total += diffusion_loss(model, schedule, part, k, g).item() * part.shape[0]
        n += part.shape[0]
    model.train()
    return total / max(n, 1)


def learning_rate(cfg: PretrainCfg, step: int) -> float:
    """Cosine decay from ``lr`` to ``lr * lr_final_frac`` over ``cfg.steps`` (constant at 1)."""
    frac = cfg.lr_final_frac + (1 - cfg.lr_final_frac) * 0.5 * (
        1 + math.cos(math.pi * step / cfg.steps)
    )
    return cfg.lr * frac


class DiffusionTrainer:
    """The model, EMA, optimizer, schedule and generator of one pretraining run.

    ``cfg.model`` must carry the data's ``feature_dim`` and ``window``. The weights are
    initialized from torch's global RNG (the caller seeds it, as the reference did), the batches
    and noise come from ``self.gen`` (seeded with ``cfg.seed``).
    """

    def __init__(self, cfg: PretrainCfg, device: torch.device) -> None:
        self.cfg, self.device = cfg, device
        self.model = Denoiser(cfg.model).to(device)
        self.ema = Denoiser(cfg.model).to(device).requires_grad_(False) if cfg.ema_decay else None
        if self.ema is not None:
            self.ema.load_state_dict(self.model.state_dict())
        self.schedule = DdpmSchedule(cfg.num_timesteps, device)
        self.opt = torch.optim.AdamW(
            self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
        )
        self.gen = torch.Generator(device=device).manual_seed(cfg.seed)
        self.step = 0

    @property
    def weights(self) -> Denoiser:
        """The weights to score and export with: the EMA when enabled, else the model."""
        return self.ema if self.ema is not None else self.model

    def train_step(self, x_train: torch.Tensor) -> torch.Tensor:
        """One optimizer step on a batch drawn from ``x_train`` [N, W, F] (normalized windows).
        Returns the batch loss, 0-dim and detached (reading it is the caller's host sync)."""
        cfg, n = self.cfg, x_train.shape[0]
        idx = torch.randint(0, n, (min(cfg.batch_size, n),), device=self.device, generator=self.gen)
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(cfg, self.step)
        loss = diffusion_loss(
            self.model, self.schedule, x_train[idx], cfg.noise_samples, self.gen, cfg.focus_max_t
        )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
        self.opt.step()
        self._ema_update()
        self.step += 1
        return loss.detach()

    def heldout_loss(self, x_heldout: torch.Tensor) -> float:
        """Deterministic held-out loss of :attr:`weights` on normalized windows [N, W, F]."""
        return heldout_loss(self.weights, self.schedule, x_heldout)

    def _ema_update(self) -> None:
        if self.ema is None:
            return
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                pe.lerp_(p, 1.0 - self.cfg.ema_decay)

    # -- state ---------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Tensors and plain values only (``torch.load(weights_only=True)`` reads it)."""
        return {
            "step": self.step,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "cfg_json": json.dumps(asdict(self.cfg)),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; raises ConfigError naming the first setting that
        differs from the one the state was trained with."""
        saved, mine = json.loads(state["cfg_json"]), asdict(self.cfg)
        keys = _RESUME_KEYS + (("steps",) if self.cfg.lr_final_frac < 1.0 else ())
        for key in keys:
            if saved[key] != mine[key]:
                raise ConfigError(
                    f"--resume: the checkpoint was trained with {key}={saved[key]!r}, this run "
                    f"asks for {mine[key]!r}. Use the same settings, or start a new --run-dir."
                )
        self.step = int(state["step"])
        self.model.load_state_dict(state["model"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["optimizer"])
        self.gen.set_state(state["generator"])
