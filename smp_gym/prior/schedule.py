"""Cosine-β DDPM schedule (Nichol & Dhariwal), T steps, ε-parameterization
(docs/reference.md#ddpm-schedule)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


class DdpmSchedule:
    """Holds the schedule's buffers on one device. Shapes: t is [B] long; x is [B, ...]."""

    def __init__(self, num_timesteps: int = 50, device: torch.device | str = "cpu") -> None:
        self.num_timesteps = num_timesteps
        T = num_timesteps

        def abar(s: float) -> float:
            return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = torch.tensor(
            [min(1 - abar((i + 1) / T) / abar(i / T), 0.999) for i in range(T)], dtype=torch.float32
        )
        alphas = 1.0 - betas
        ac = torch.cumprod(alphas, dim=0)
        ac_prev = torch.cat((torch.ones(1), ac[:-1]))
        self.betas = betas
        self.alphas_cumprod = ac
        self.alphas_cumprod_prev = ac_prev
        self.sqrt_alphas_cumprod = ac.sqrt()
        self.sqrt_one_minus_alphas_cumprod = (1 - ac).sqrt()
        self.sqrt_recip_alphas_cumprod = (1 / ac).sqrt()
        self.sqrt_recipm1_alphas_cumprod = (1 / ac - 1).sqrt()
        self.posterior_variance = betas * (1 - ac_prev) / (1 - ac)
        self.posterior_mean_coef1 = betas * ac_prev.sqrt() / (1 - ac)
        self.posterior_mean_coef2 = (1 - ac_prev) * alphas.sqrt() / (1 - ac)
        self.to(device)

    _BUFFERS = (
        "betas",
        "alphas_cumprod",
        "alphas_cumprod_prev",
        "sqrt_alphas_cumprod",
        "sqrt_one_minus_alphas_cumprod",
        "sqrt_recip_alphas_cumprod",
        "sqrt_recipm1_alphas_cumprod",
        "posterior_variance",
        "posterior_mean_coef1",
        "posterior_mean_coef2",
    )

    def to(self, device: torch.device | str) -> DdpmSchedule:
        for name in self._BUFFERS:
            setattr(self, name, getattr(self, name).to(device))
        return self

    @property
    def device(self) -> torch.device:
        return self.betas.device

    @staticmethod
    def _bcast(v: Tensor, t: Tensor, x: Tensor) -> Tensor:
        return v[t].view(-1, *([1] * (x.dim() - 1)))

    def add_noise(self, x0: Tensor, eps: Tensor, t: Tensor) -> Tensor:
        """q(x_t | x_0) sample: √ᾱ_t·x0 + √(1-ᾱ_t)·ε."""
        return (
            self._bcast(self.sqrt_alphas_cumprod, t, x0) * x0
            + self._bcast(self.sqrt_one_minus_alphas_cumprod, t, x0) * eps
        )

    def step(
        self, eps_hat: Tensor, x_t: Tensor, t: int, generator: torch.Generator | None = None
    ) -> Tensor:
        """One ancestral step x_t -> x_{t-1} (all batch elements share ``t``; no x0 clipping)."""
        x0 = self.sqrt_recip_alphas_cumprod[t] * x_t - self.sqrt_recipm1_alphas_cumprod[t] * eps_hat
        mean = self.posterior_mean_coef1[t] * x0 + self.posterior_mean_coef2[t] * x_t
        if t == 0:
            return mean
        noise = torch.randn(x_t.shape, generator=generator, device=x_t.device, dtype=x_t.dtype)
        return mean + self.posterior_variance[t].sqrt() * noise
