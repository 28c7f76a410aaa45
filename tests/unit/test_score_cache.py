"""SdsScorer builds its per-batch-size tensors (repeated timesteps and their embeddings, the
K-copies buffer of x0) once, and the errors are those of the SDS definition computed here
independently: x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, err = mean((eps_hat - eps)^2)."""

import pytest
import torch

from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.prior.checkpoint import load_prior, save_prior
from smp_gym.prior.denoiser import Denoiser, DenoiserCfg
from smp_gym.prior.score import SdsScorer

K = (8, 15, 22)


@pytest.fixture(scope="module")
def prior(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("p") / "p.safetensors"
    model = Denoiser(DenoiserCfg(d_model=32, nhead=2, num_layers=1))
    save_prior(path, model, -torch.ones(59), torch.ones(59), L)
    return load_prior(path)


def by_definition(prior, x, seed: int) -> torch.Tensor:
    """The SDS error per env and timestep, one timestep at a time, from the DDPM definition."""
    n = x.shape[0]
    x0 = (x - prior.q_low) / (prior.q_high - prior.q_low) * 2 - 1  # q_low..q_high -> -1..1
    eps_all = torch.randn((len(K) * n, *x.shape[1:]), generator=torch.Generator().manual_seed(seed))
    abar = prior.schedule.alphas_cumprod
    out = torch.empty(n, len(K))
    with torch.no_grad():
        for i, t in enumerate(K):
            eps = eps_all[i * n : (i + 1) * n]  # timestep-major rows, as drawn in one call
            x_t = abar[t].sqrt() * x0 + (1 - abar[t]).sqrt() * eps
            tt = torch.full((n,), t)
            eps_hat = prior.model(x_t, tt)  # the embedding computed inside, per call
            out[:, i] = (eps_hat - eps).square().mean(dim=(1, 2))
    return out


def test_errors_match_the_definition_and_buffers_are_reused(prior):
    scorer = SdsScorer(prior, K)
    x1, x2 = torch.rand(5, 10, 59) * 2 - 1, torch.rand(5, 10, 59) * 2 - 1
    e1 = scorer(x1, torch.Generator().manual_seed(1))
    t, hidden, x0k = scorer._per_batch[5]
    e2 = scorer(x2, torch.Generator().manual_seed(2))
    again = scorer._per_batch[5]
    # the second step reused the first step's tensors (same storage), not rebuilt copies
    assert again[0] is t and again[1] is hidden and again[2].data_ptr() == x0k.data_ptr()
    assert t.tolist() == [8] * 5 + [15] * 5 + [22] * 5
    torch.testing.assert_close(e1, by_definition(prior, x1, 1), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(e2, by_definition(prior, x2, 2), rtol=1e-5, atol=1e-6)


def test_a_new_batch_size_gets_its_own_buffers(prior):
    scorer = SdsScorer(prior, K)
    scorer(torch.rand(5, 10, 59), torch.Generator().manual_seed(0))
    x = torch.rand(3, 10, 59) * 2 - 1
    torch.testing.assert_close(
        scorer(x, torch.Generator().manual_seed(4)),
        by_definition(prior, x, 4),
        rtol=1e-5,
        atol=1e-6,
    )
    assert set(scorer._per_batch) == {5, 3} and scorer._per_batch[3][2].shape == (9, 10, 59)
