"""SDS error: one batched forward for all K timesteps, determinism, and the running normalizer."""

import math

import pytest
import torch

from smp_gym.config import SmpRewardCfg
from smp_gym.errors import ConfigError
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.prior.checkpoint import load_prior, save_prior
from smp_gym.prior.denoiser import Denoiser, DenoiserCfg
from smp_gym.prior.score import SdsNormalizer, SdsScorer
from smp_gym.reward import combine, smp_reward


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("p") / "p.safetensors"
    save_prior(
        path,
        Denoiser(DenoiserCfg(d_model=32, nhead=2, num_layers=1)),
        -torch.ones(59),
        torch.ones(59),
        L,
    )
    return load_prior(path)


def test_all_timesteps_in_one_forward_pass(prior):
    calls = []
    handle = prior.model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    err = SdsScorer(prior, (8, 15, 22))(torch.randn(5, 10, 59), torch.Generator().manual_seed(0))
    handle.remove()
    assert err.shape == (5, 3) and calls == [torch.Size([15, 10, 59])]


def test_seeded_generator_gives_identical_errors(prior):
    x = torch.randn(4, 10, 59)
    a = SdsScorer(prior)(x, torch.Generator().manual_seed(3))
    b = SdsScorer(prior)(x, torch.Generator().manual_seed(3))
    c = SdsScorer(prior)(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_timesteps_out_of_range(prior):
    with pytest.raises(ConfigError, match=r"\[0, 50\)"):
        SdsScorer(prior, (8, 50))


def test_compiled_scorer_matches_eager(prior):
    x = torch.randn(6, 10, 59)
    eager = SdsScorer(prior)(x, torch.Generator().manual_seed(1))
    compiled = SdsScorer(prior, compile=True)(x, torch.Generator().manual_seed(1))
    assert torch.allclose(eager, compiled, rtol=1e-4, atol=1e-5)


def test_normalizer_running_mean_masks_and_freeze():
    n = SdsNormalizer(2, "cpu", max_count=6)
    n.record(torch.tensor([[2.0, 4.0], [4.0, 8.0]]))
    n.update()
    assert torch.allclose(n.mean, torch.tensor([3.0, 6.0], dtype=torch.float64))  # first batch mean
    n.record(torch.tensor([[6.0, 6.0], [float("nan"), 1e9]]), valid=torch.tensor([True, False]))
    n.update()
    assert torch.allclose(
        n.mean, torch.tensor([4.0, 6.0], dtype=torch.float64)
    )  # (2+4+6)/3, masked row ignored
    n.record(torch.full((4, 2), 100.0))
    n.update()  # count 3 -> 7 >= 6: the update applies, then freezes
    frozen = n.mean.clone()
    n.record(torch.full((4, 2), 1000.0))
    n.update()
    assert torch.equal(n.mean, frozen) and n.frozen.all()
    assert torch.allclose(
        n.normalize(torch.tensor([[frozen[0].item(), 0.0]])), torch.tensor([[1.0, 0.0]])
    )
    m = SdsNormalizer(2, "cpu")
    m.load_state_dict(n.state_dict())
    assert torch.equal(m.mean, n.mean)


def test_reward_and_combine():
    err = torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    r = smp_reward(err, ws=6.0)
    assert torch.allclose(r, torch.tensor([math.exp(-6.0), 1.0]))
    task = torch.tensor([0.5, 0.5])
    assert torch.allclose(combine(task, r, SmpRewardCfg()), task * r)
    ws = SmpRewardCfg(mode="weighted_sum", task_weight=0.7, smp_weight=0.9)
    assert torch.allclose(combine(task, r, ws), 0.7 * task + 0.9 * r)


def test_failed_compile_falls_back_to_eager_with_one_warning(prior, monkeypatch):
    class Broken:  # what torch.compile hands back on a machine without a working C++ compiler
        def __call__(self, *args):
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")

    monkeypatch.setattr(torch, "compile", lambda model, **kw: Broken())
    x = torch.randn(4, 10, 59)
    scorer = SdsScorer(prior, compile=True)
    assert scorer.path == "compiled"
    with pytest.warns(
        RuntimeWarning, match="compile_prior: using the eager prior forward.*InvalidCxxCompiler"
    ):
        out = scorer(x, torch.Generator().manual_seed(1))
    assert scorer.path == "eager"
    assert torch.equal(out, SdsScorer(prior)(x, torch.Generator().manual_seed(1)))
