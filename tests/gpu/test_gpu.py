"""GPU-only checks (skipped without CUDA): the full step's host syncs (torch's own sync debug
mode and our SyncCounter agree that our code adds one per step), mjlab's CUDA graphs replay,
the CUDA-graph-compiled prior matches eager, and device memory (Warp's pool included) stays flat.
"""

import warnings

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]
N, STEPS = 256, 10


@pytest.fixture(scope="module")
def env():
    import gymnasium

    import smp_gym  # noqa: F401

    e = gymnasium.make_vec("SmpSteeringG1-v0", num_envs=N, device="cuda", seed=0)
    e.reset(seed=0)
    for _ in range(3):
        e.step(torch.zeros(N, 29, device="cuda"))
    yield e
    e.close()


def test_smp_hot_path_has_no_host_sync(env):
    u = env.unwrapped
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(5):  # what step() does between mjlab's step and the resets
            u.window.push(u._reader())
            raw, r_smp = u.reward(u.window.features(), u._generator)
            u.reward.terminated(raw, u.sim.episode_length_buf)
            u.gsi.tick()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert r_smp.shape == (N,)


def test_full_step_syncs_once_per_step_outside_mjlab(env):
    """The whole ``step()`` under ``set_sync_debug_mode("warn")``: every sync torch reports is
    attributed to its Python line; those in our code are at most one per step (the ended-envs
    ``nonzero``). The rest are mjlab's own step (its reset bookkeeping)."""
    from smp_gym.tools.syncs import OUR_DIRS, SyncCounter

    a = torch.zeros(N, 29, device="cuda")
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught, SyncCounter() as syncs:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            for _ in range(STEPS):
                env.step(a)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    reported = [
        f"{w.filename}:{w.lineno}" for w in caught if "synchroniz" in str(w.message).lower()
    ]
    ours = [site for site in reported if site.startswith(OUR_DIRS)]
    assert len(ours) <= STEPS, reported
    counted = [
        e for e in syncs.events if e.origin == "ours" or (e.caller or "").startswith("envs/")
    ]
    assert len(counted) <= STEPS, syncs.by_site()


def test_mjlab_replays_its_cuda_graphs(env):
    from smp_gym.tools.syncs import LaunchCounter

    sim = env.unwrapped.sim.sim
    assert sim.use_cuda_graph and sim.step_graph is not None
    with LaunchCounter() as launches:
        env.step(torch.zeros(N, 29, device="cuda"))
    assert launches.graphs >= 1, launches.sites


def test_compiled_prior_matches_eager_on_cuda(env):
    from smp_gym.prior.score import SdsScorer

    u = env.unwrapped
    x = u.window.features().clone()
    eager = SdsScorer(u.prior)(x, torch.Generator("cuda").manual_seed(0))
    compiled = SdsScorer(u.prior, compile=True)
    for _ in range(3):  # warm-up / graph capture
        compiled(x, torch.Generator("cuda").manual_seed(0))
    out = compiled(x, torch.Generator("cuda").manual_seed(0))
    assert compiled.path == "compiled"  # no silent fallback to eager
    assert torch.allclose(eager, out, rtol=1e-3, atol=1e-4)


def test_no_growth_of_gpu_memory_over_steps(env):
    """Both torch's allocator and the device as a whole (``mem_get_info`` sees Warp's pool and
    the CUDA graphs, which ``memory_allocated`` does not)."""
    torch.cuda.synchronize()
    before, free_before = torch.cuda.memory_allocated(), torch.cuda.mem_get_info()[0]
    for _ in range(50):
        env.step(torch.zeros(N, 29, device="cuda"))
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() <= before + 16 * 2**20
    assert free_before - torch.cuda.mem_get_info()[0] <= 64 * 2**20
