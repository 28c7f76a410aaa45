"""smp_gym.tools.syncs.SyncCounter: each kind of host sync is counted once, at the line that
caused it, and free ops are not counted (CPU tensors stand in for device tensors)."""

import numpy as np
import pytest
import torch

from smp_gym.tools.syncs import SyncCounter

X = torch.randn(4)
MASK = X > 0
HOST = np.ones(3, dtype=np.float32)
DEV = X.device  # what env.device is on this machine

# (what, expected kinds): the expectations are torch's semantics on CUDA, written by hand
CASES = {
    "item": (lambda: X[0].item(), ["item"]),
    "float()": (lambda: float(X.sum()), ["item"]),
    "if tensor": (lambda: 1 if MASK.any() else 0, ["item"]),
    "0-dim int index": (lambda: X[torch.tensor(1, device=DEV)], ["h2d", "item"]),
    "nonzero": (lambda: MASK.nonzero(), ["nonzero"]),
    "torch.where(mask)": (lambda: torch.where(MASK), ["nonzero"]),
    "bool-mask index": (lambda: X[MASK], ["mask_index"]),
    "bool-mask put": (lambda: X.clone().__setitem__(MASK, 0.0), ["mask_put"]),
    "masked_select": (lambda: X.masked_select(MASK), ["masked_select"]),
    "tolist": (lambda: X.tolist(), ["d2h"]),
    ".cpu().numpy()": (lambda: X.cpu().numpy(), ["d2h"]),
    "torch.tensor(device=)": (lambda: torch.tensor([1.0, 0, 0], device=DEV), ["h2d"]),
    "as_tensor(numpy, device=)": (lambda: torch.as_tensor(HOST, device=DEV), ["h2d"]),
    "host tensor .to(device)": (lambda: torch.tensor([1.0]).to(DEV), ["h2d"]),
    "repeat_interleave(tensor)": (
        lambda: X.repeat_interleave(torch.ones(4, dtype=torch.long, device=DEV)),
        ["data_size"],
    ),
    # free: device math, fixed-size ops, host-only tensors, mask arithmetic
    "arithmetic": (lambda: (X * 2 + 1).sum(), []),
    "torch.where(m, a, b)": (lambda: torch.where(MASK, X, 0.0), []),
    "mask as weights": (lambda: (X * MASK).sum() / MASK.sum(), []),
    "repeat_interleave(int)": (lambda: X.repeat_interleave(3), []),
    "host tensor item": (lambda: torch.tensor([2.0]).item(), []),
    "zeros(device=)": (lambda: torch.zeros(3, device=DEV), []),
}


@pytest.mark.parametrize("name", CASES)
def test_each_sync_kind_is_counted_once(name):
    fn, kinds = CASES[name]
    with SyncCounter(cpu_is_device=True) as syncs:
        fn()
    assert sorted(e.kind for e in syncs.events) == sorted(kinds), syncs.events


def test_site_is_the_line_in_our_code():
    with SyncCounter(cpu_is_device=True) as syncs:
        MASK.nonzero()
        line = test_site_is_the_line_in_our_code.__code__.co_firstlineno + 2
    (event,) = syncs.events
    assert event.site == f"tests/unit/test_syncs.py:{line} (test_site_is_the_line_in_our_code)"
    assert event.origin == "ours" and event.caller == event.site
    assert syncs.by_site() == {f"{event.site} [nonzero]": 1}
    assert syncs.summary(per=2)["total"] == 0.5


def test_cpu_tensors_are_host_tensors_when_cpu_is_not_the_device():
    with SyncCounter(cpu_is_device=False) as syncs:
        X[0].item()
        MASK.nonzero()
        X.tolist()
    assert syncs.total == 0


def test_counters_nest_and_stop_at_exit():
    with SyncCounter() as outer:
        X.sum().item()
        with SyncCounter() as inner:
            MASK.nonzero()
    X.sum().item()
    assert (outer.total, inner.total) == (2, 1)
