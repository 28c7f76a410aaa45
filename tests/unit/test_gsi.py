"""GsiPool with a fake sampler: FIFO refresh spread over the interval (no single-step stall)."""

import torch

from smp_gym.gsi import GsiPool


class FakeChain:
    def __init__(self, n, counter, steps=5):
        self.n, self.counter, self.left = n, counter, steps
        counter["chains"] += 1
        self.value = float(counter["chains"])

    @property
    def done(self):
        return self.left == 0

    def advance(self):
        self.left -= 1
        self.counter["advances"] += 1

    def result(self):
        return torch.full((self.n, 10, 59), self.value)


def make_pool(**kw):
    counter = {"chains": 0, "advances": 0}
    pool = GsiPool(lambda n: FakeChain(n, counter), kw.pop("size", 8), num_steps=5, **kw)
    return pool, counter


def test_initial_fill_in_batches():
    pool, counter = make_pool(size=10, batch_size=4, refresh_interval=0, refresh_count=2)
    assert pool.pool.shape == (10, 10, 59) and counter["chains"] == 3
    assert pool.pool[:, 0, 0].tolist() == [1.0] * 4 + [2.0] * 4 + [3.0] * 2


def test_refresh_is_amortized_and_fifo():
    pool, counter = make_pool(size=8, batch_size=8, refresh_interval=20, refresh_count=3)
    assert pool.ticks_per_step == 4
    before = counter["advances"]
    per_step = []
    for t in range(
        1, 60
    ):  # refreshes start at ticks 20 and 40, each takes 5 advances 4 ticks apart
        a = counter["advances"]
        pool.tick()
        per_step.append(counter["advances"] - a)
        assert pool.refreshes == pool.expected_refreshes(t) == (t >= 36) + (t >= 56), t
    assert max(per_step) <= 1  # never more than one denoising step per env step
    assert pool.refreshes == 2 and counter["advances"] - before == 10
    assert pool.pool[:, 0, 0].tolist() == [2.0] * 3 + [3.0] * 3 + [1.0] * 2
    assert pool.head == 6


def test_sample_uses_generator_and_state_round_trip():
    pool, _ = make_pool(size=8, refresh_interval=0, refresh_count=2)
    pool.pool[:] = torch.arange(8.0)[:, None, None]
    a = pool.sample(5, torch.Generator().manual_seed(1))
    b = pool.sample(5, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    other, _ = make_pool(size=8, refresh_interval=0, refresh_count=2)
    other.load_state_dict(pool.state_dict())
    assert torch.equal(other.pool, pool.pool)
