"""DDPM ancestral sampling from a prior, whole or one denoising step at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor

from smp_gym.prior.checkpoint import Prior


@torch.inference_mode()
def ddpm_sample(
    prior: Prior,
    n: int,
    generator: torch.Generator | None = None,
    batch_size: int = 1024,
    progress: Callable[[Iterable[int]], Iterable[int]] | None = None,
) -> Tensor:
    """Draw ``n`` windows with the full T-step ancestral sampler. Returns raw features [n, W, F].

    ``progress`` wraps the loop over batches (e.g. ``tqdm``): the library shows no bar itself."""
    out = []
    chunks: Iterable[int] = range(0, n, batch_size)
    if progress is not None:
        chunks = progress(chunks)
    for start in chunks:
        chain = DdpmChain(prior, min(batch_size, n - start), generator)
        while not chain.done:
            chain.advance()
        out.append(chain.result())
    return (
        torch.cat(out)
        if out
        else prior.q_low.new_zeros(0, prior.layout.window, prior.layout.feature_dim)
    )


class DdpmChain:
    """A batch of samples being denoised from t = T-1 down to 0, one step per ``advance()``.

    Lets a caller spread the T forward passes of a sample batch over many env steps.
    """

    def __init__(self, prior: Prior, n: int, generator: torch.Generator | None = None) -> None:
        self.prior = prior
        self.generator = generator
        shape = (n, prior.layout.window, prior.layout.feature_dim)
        self.x = torch.randn(shape, generator=generator, device=prior.device)
        self.t = prior.num_timesteps - 1
        self._tt = torch.empty(n, dtype=torch.long, device=prior.device)

    @property
    def done(self) -> bool:
        return self.t < 0

    @torch.inference_mode()
    def advance(self) -> None:
        if self.done:
            return
        eps = self.prior.model(self.x, self._tt.fill_(self.t))
        self.x = self.prior.schedule.step(eps, self.x, self.t, self.generator)
        self.t -= 1

    def result(self) -> Tensor:
        """Denormalized samples [n, W, F] (only once ``done``)."""
        return self.prior.denormalize(self.x)
