"""`smp-gym bench` over several sizes: after each size the compiled prior is dropped
(``torch.compiler.reset()``, which also frees torch.compile's CUDA-graph pool) before the next
size is built, so no row compiles on top of, or counts the memory of, the one before."""

import torch

from smp_gym.tools import bench


def test_compiler_is_reset_between_sizes(monkeypatch):
    events = []

    @torch.compile(backend="eager", dynamic=False)
    def prior(x):
        return x * 2

    def fake_bench_one(task, n, dev, *args):
        prior(torch.ones(n))
        events.append(("row", n))
        return {"num_envs": n}

    real_reset = torch.compiler.reset
    monkeypatch.setattr(bench, "bench_one", fake_bench_one)
    monkeypatch.setattr(
        torch.compiler, "reset", lambda: (events.append(("reset",)), real_reset())[1]
    )
    bench.main("SmpSteeringG1-v0", (2, 3), 1, 0, 1, "cpu", json_out=True, out=None)
    assert events == [("row", 2), ("reset",), ("row", 3), ("reset",)]
