"""GsiPool: a FIFO pool of start windows sampled from the prior, refreshed in the background.

The sampler is injected (``Callable[[int], DdpmChain-like]``) so tests can use a fake. A
refresh draws ``refresh_count`` new windows whose T denoising steps are spread over the
refresh interval: ``tick()`` advances the pending chain by at most one denoising step every
``max(1, interval // T)`` env steps, so no single env step pays for a whole batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor

from smp_gym.errors import ConfigError


class Chain(Protocol):
    """A batch of samples being produced step by step (see ``prior.sampling.DdpmChain``)."""

    @property
    def done(self) -> bool: ...

    def advance(self) -> None: ...

    def result(self) -> Tensor: ...


class GsiPool:
    """Pool of raw-feature windows [size, W, F] with amortized FIFO refresh."""

    def __init__(self, make_chain: Callable[[int], Chain], size: int, *, num_steps: int,
                 batch_size: int = 1024, refresh_interval: int = 2400, refresh_count: int = 1024,
                 progress: bool = False) -> None:  # fmt: skip
        if refresh_count > size:
            raise ConfigError(f"gsi.refresh_count={refresh_count} > pool size {size}.")
        self.make_chain = make_chain
        self.size = size
        self.batch_size = batch_size
        self.refresh_interval = refresh_interval
        self.refresh_count = refresh_count
        self.ticks_per_step = max(1, refresh_interval // max(num_steps, 1)) if refresh_interval else 0
        self._num_steps = num_steps
        self.head = 0  # next pool row a refresh overwrites
        self.refreshes = 0  # completed refreshes
        self._tick = 0
        self._chain: Chain | None = None
        self.pool = self._fill(progress)

    def _fill(self, progress: bool) -> Tensor:
        parts, starts = [], range(0, self.size, self.batch_size)
        if progress:
            from tqdm import tqdm

            starts = tqdm(starts, desc="GSI pool", unit="batch", leave=False)
        for start in starts:
            chain = self.make_chain(min(self.batch_size, self.size - start))
            while not chain.done:
                chain.advance()
            parts.append(chain.result())
        return torch.cat(parts)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` windows drawn uniformly with replacement. Shape: [n, W, F]."""
        idx = torch.randint(0, self.size, (n,), generator=generator, device=self.pool.device)
        return self.pool[idx]

    def tick(self) -> None:
        """Call once per env step: advances the pending refresh (if any) by at most one step."""
        if not self.ticks_per_step:
            return
        self._tick += 1
        if self._chain is None and self._tick % self.refresh_interval == 0:
            self._chain = self.make_chain(self.refresh_count)
        if self._chain is not None and self._tick % self.ticks_per_step == 0:
            self._chain.advance()
            if self._chain.done:
                self._insert(self._chain.result())
                self._chain = None

    def expected_refreshes(self, ticks: int) -> int:
        """Refreshes complete after ``ticks`` env steps: the k-th starts at tick k·interval and is
        inserted ``num_steps - 1`` advances (``ticks_per_step`` apart) later."""
        if not self.ticks_per_step:
            return 0
        return max(0, (ticks - (self._num_steps - 1) * self.ticks_per_step) // self.refresh_interval)

    def _insert(self, windows: Tensor) -> None:
        n = windows.shape[0]
        idx = (self.head + torch.arange(n, device=self.pool.device)) % self.size
        self.pool[idx] = windows
        self.head = (self.head + n) % self.size
        self.refreshes += 1

    def state_dict(self) -> dict:
        """Pool contents and FIFO head (a pending refresh restarts after loading)."""
        return {"pool": self.pool.clone(), "head": self.head, "tick": self._tick,
                "refreshes": self.refreshes}  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        if state["pool"].shape != self.pool.shape:
            raise ConfigError(
                f"GSI pool state has shape {tuple(state['pool'].shape)}, this env's pool is "
                f"{tuple(self.pool.shape)}; build the env with the same gsi.pool_size and prior."
            )
        self.pool.copy_(state["pool"])
        self.head, self._tick = int(state["head"]), int(state["tick"])
        self.refreshes = int(state["refreshes"])
        self._chain = None
