"""The SDS (score-distillation) error of motion windows under a frozen prior, and its normalizer.

For each window x0 (normalized) and each fixed timestep t in K: draw ε ~ N(0, I), form
x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε and measure mean((ε̂(x_t, t) - ε)²) over the window. All K
timesteps of all envs go through the denoiser in **one** batched forward pass.
"""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.errors import ConfigError
from smp_gym.prior.checkpoint import Prior


def check_timesteps(timesteps, num_timesteps: int) -> tuple[int, ...]:
    ts = tuple(int(t) for t in timesteps)
    if not ts or any(t < 0 or t >= num_timesteps for t in ts):
        raise ConfigError(
            f"timesteps: received {ts}; each must lie in [0, {num_timesteps}) for this prior "
            "(the reference uses (8, 15, 22))."
        )
    return ts


def _compile_blocker() -> str | None:
    """Why torch.compile must not run here (None: it may): it imports triton, which crashes
    once Mesa's OpenGL is loaded (decided from what this process loaded, not from MUJOCO_GL)."""
    from smp_gym.triton_guard import triton_unsafe

    return triton_unsafe()


class SdsScorer:
    """Computes SDS errors for batches of raw-feature windows. Stateless apart from buffers."""

    def __init__(self, prior: Prior, timesteps=(8, 15, 22), compile: bool = False) -> None:
        self.prior = prior
        self.timesteps = check_timesteps(timesteps, prior.num_timesteps)
        self._t = torch.tensor(self.timesteps, device=prior.device, dtype=torch.long)
        with torch.inference_mode():  # the K timesteps never change: embed them once
            self._time_hidden = prior.model.time_embedding(self._t).clone()
        self._model = prior.model
        self._per_batch: dict[int, tuple[Tensor, Tensor, Tensor]] = {}
        """Per batch size n: the timesteps [K*n], their embeddings [K*n, 6D] and the buffer the
        K copies of x0 are written into [K*n, W, F] (same every step: built once, not per step)."""
        self.path = "eager"
        """Which forward runs: ``compiled`` (torch.compile: CUDA graphs on GPU, inductor kernels
        on CPU; parity-tested against eager) or ``eager``."""
        if compile:
            blocker = _compile_blocker()
            if blocker is None:
                mode = "reduce-overhead" if prior.device.type == "cuda" else None
                self._model = torch.compile(prior.model, mode=mode, dynamic=False)
                self.path = "compiled"
            else:
                self._fall_back(blocker)

    def _fall_back(self, why: str) -> None:
        import warnings

        warnings.warn(
            f"compile_prior: using the eager prior forward ({why}). Results are the same, "
            "only slower; pass compile_prior=False to skip compiling.",
            RuntimeWarning,
            stacklevel=4,
        )
        self._model, self.path = self.prior.model, "eager"

    def _forward(self, x_t: Tensor, t: Tensor, time_hidden: Tensor) -> Tensor:
        if self.path == "eager":
            return self._model(x_t, t, time_hidden)
        try:  # torch.compile compiles on the first call: a missing C++ compiler shows up here
            return self._model(x_t, t, time_hidden)
        except Exception as err:  # noqa: BLE001 - any compiler failure: fall back, once, loudly
            self._fall_back(f"torch.compile failed: {type(err).__name__}: {str(err)[:200]}")
            return self._model(x_t, t, time_hidden)

    @property
    def num_timesteps(self) -> int:
        return len(self.timesteps)

    @torch.inference_mode()
    def __call__(
        self, features: Tensor, generator: torch.Generator | None = None, normalized: bool = False
    ) -> Tensor:
        """Raw SDS error per window and timestep. features: [N, W, F] -> [N, K]."""
        x0 = features if normalized else self.prior.normalize(features)
        n, k = x0.shape[0], len(self.timesteps)
        t, time_hidden, x0k = self._buffers(x0)
        x0k.view(k, *x0.shape).copy_(x0.unsqueeze(0).expand(k, *x0.shape))
        eps = torch.randn(x0k.shape, generator=generator, device=x0.device, dtype=x0.dtype)
        x_t = self.prior.schedule.add_noise(x0k, eps, t)
        err = (self._forward(x_t, t, time_hidden) - eps).square().mean(dim=(1, 2))
        return err.view(k, n).T

    def _buffers(self, x0: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(t [K*n], time_hidden [K*n, 6D], x0k [K*n, W, F]) for this batch size, built on first
        use: timestep-major, so rows i*n..(i+1)*n-1 score timestep i."""
        n = x0.shape[0]
        cached = self._per_batch.get(n)
        if cached is None or cached[2].shape[1:] != x0.shape[1:] or cached[2].dtype != x0.dtype:
            k = len(self.timesteps)
            cached = (
                self._t.repeat_interleave(n),
                self._time_hidden.repeat_interleave(n, dim=0),
                torch.empty((k * n, *x0.shape[1:]), device=x0.device, dtype=x0.dtype),
            )
            if len(self._per_batch) >= 4:  # a few sizes (env, evaluation): drop the oldest
                self._per_batch.pop(next(iter(self._per_batch)))
            self._per_batch[n] = cached
        return cached


class SdsNormalizer:
    """Running per-timestep mean of the SDS error; errors are divided by it.

    ``record`` accumulates batch statistics and ``update`` folds them into the mean, both as
    tensor ops (no host sync). The first update sets the mean to the first batch mean; once a
    timestep has seen ``max_count`` samples its mean freezes. ``min_value`` floors the divisor.
    """

    def __init__(
        self,
        num_timesteps: int,
        device: torch.device | str,
        max_count: int = 50_000_000,
        min_value: float = 1e-4,
    ) -> None:
        self.max_count = int(max_count)
        self.min_value = float(min_value)
        self.mean = torch.ones(num_timesteps, device=device, dtype=torch.float64)
        self.count = torch.zeros(num_timesteps, device=device, dtype=torch.float64)
        self._sum = torch.zeros_like(self.mean)
        self._n = torch.zeros_like(self.mean)

    def record(self, err: Tensor, valid: Tensor | None = None) -> None:
        """Accumulate a batch. err: [N, K]; ``valid`` [N] bool excludes rows (e.g. NaN physics)."""
        if valid is None:
            self._sum += err.sum(dim=0, dtype=torch.float64)
            self._n += err.shape[0]
        else:
            self._sum += torch.where(valid[:, None], err, 0.0).sum(dim=0, dtype=torch.float64)
            self._n += valid.sum()

    def update(self) -> None:
        """Fold the recorded batches into the running mean (frozen timesteps are left as is)."""
        live = (self.count < self.max_count) & (self._n > 0)
        total = self.count + self._n
        new_mean = (self.mean * self.count + self._sum) / total.clamp_min(1.0)
        self.mean = torch.where(live, new_mean, self.mean)
        self.count = torch.where(live, total, self.count)
        self._sum.zero_()
        self._n.zero_()

    def normalize(self, err: Tensor) -> Tensor:
        """err / clamp(mean, min_value), per timestep. [N, K] -> [N, K]."""
        return err / self.mean.clamp_min(self.min_value).to(err.dtype)

    def freeze(self) -> None:
        """Stop updating (evaluation uses the training run's reward scale)."""
        self.count = torch.maximum(self.count, torch.full_like(self.count, float(self.max_count)))

    @property
    def frozen(self) -> Tensor:
        return self.count >= self.max_count

    def state_dict(self) -> dict:
        return {"mean": self.mean.clone(), "count": self.count.clone()}

    def load_state_dict(self, state: dict) -> None:
        k = self.mean.shape[0]
        bad = (
            not isinstance(state, dict)
            or set(state) != {"mean", "count"}
            or not all(
                isinstance(state[key], Tensor) and state[key].dim() == 1
                for key in ("mean", "count")
            )
        )
        if bad:
            got = (
                {
                    key: (tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__)
                    for key, v in state.items()
                }
                if isinstance(state, dict)
                else type(state).__name__
            )
            raise ConfigError(
                f"SdsNormalizer.load_state_dict: received {got}; expected a dict "
                f"{{'mean': Tensor[{k}], 'count': Tensor[{k}]}} as saved by state_dict()."
            )
        if state["mean"].shape != self.mean.shape or state["count"].shape != self.count.shape:
            raise ConfigError(
                f"SdsNormalizer state has {state['mean'].shape[0]} timesteps; this env scores "
                f"{self.mean.shape[0]}. Load a state saved with the same reward timesteps."
            )
        self.mean = state["mean"].to(self.mean)
        self.count = state["count"].to(self.count)
