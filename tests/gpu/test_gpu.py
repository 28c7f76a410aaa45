"""GPU-only checks (skipped without CUDA): the SMP hot path never syncs the host, and the
CUDA-graph-compiled prior matches eager."""

import pytest
import torch

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


@pytest.fixture(scope="module")
def env():
    import gymnasium

    import smp_gym  # noqa: F401

    e = gymnasium.make_vec(
        "SmpSteeringG1-v0", num_envs=256, device="cuda", seed=0, validate_actions=False
    )
    e.reset(seed=0)
    for _ in range(3):
        e.step(torch.zeros(256, 29, device="cuda"))
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
    assert r_smp.shape == (256,)


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
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    for _ in range(50):
        env.step(torch.zeros(256, 29, device="cuda"))
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() <= before + 16 * 2**20
