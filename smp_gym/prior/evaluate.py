"""How well does a prior tell real motion from corrupted motion?

For held-out real windows and corrupted copies of them, compute the SDS error (mean over the
reward timesteps K, averaged over ``draws`` noise draws with a fixed seed), the ROC AUC of
"corrupted scores higher than real" over all (real, corrupted) pairs, and the paired win rate
(the fraction of windows whose own corrupted copy scores higher). Corruptions:

- ``time_shuffle``: the 10 frames of each window in a random order;
- ``joint_noise``: Gaussian noise (σ = 0.2) on the normalized joint angles.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from smp_gym.prior.checkpoint import Prior
from smp_gym.prior.score import SdsScorer


def time_shuffle(x: Tensor, prior: Prior, g: torch.Generator) -> Tensor:
    perm = torch.argsort(torch.rand(x.shape[:2], generator=g, device=x.device), dim=1)
    return torch.gather(x, 1, perm[..., None].expand_as(x))


def joint_noise(x: Tensor, prior: Prior, g: torch.Generator, sigma: float = 0.2) -> Tensor:
    s = prior.layout.slices["joint_pos"]
    xn = prior.normalize(x)
    xn[..., s] += sigma * torch.randn(xn[..., s].shape, generator=g, device=x.device)
    return prior.denormalize(xn)


CORRUPTIONS: dict[str, Callable[[Tensor, Prior, torch.Generator], Tensor]] = {
    "time_shuffle": time_shuffle,
    "joint_noise": joint_noise,
}


def sds_errors(
    prior: Prior,
    windows: Tensor,
    timesteps=(8, 15, 22),
    draws: int = 4,
    seed: int = 0,
    batch: int = 2048,
) -> Tensor:
    """Raw SDS error per window (mean over K and draws). [N, W, F] -> [N]."""
    scorer = SdsScorer(prior, timesteps)
    g = torch.Generator(device=prior.device).manual_seed(seed)
    out = torch.zeros(windows.shape[0], device=prior.device)
    for _ in range(draws):
        for i in range(0, windows.shape[0], batch):
            out[i : i + batch] += scorer(windows[i : i + batch].to(prior.device), g).mean(dim=1)
    return out / draws


def roc_auc(neg: np.ndarray, pos: np.ndarray) -> float:
    """P(pos > neg) with ties counted half (Mann-Whitney U / (n_neg * n_pos))."""
    scores = np.concatenate([neg, pos])
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    i = 0
    while i < len(scores):  # average ranks over ties
        j = i
        while j + 1 < len(scores) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i : j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    r_pos = ranks[len(neg) :].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def evaluate_prior(
    prior: Prior,
    windows: Tensor,
    corruptions=tuple(CORRUPTIONS),
    timesteps=(8, 15, 22),
    draws: int = 4,
    seed: int = 0,
) -> dict:
    """Mean SDS error on real / corrupted windows and the AUC per corruption."""
    windows = windows.to(prior.device)
    real = sds_errors(prior, windows, timesteps, draws, seed).cpu().numpy()
    result = {
        "num_windows": int(windows.shape[0]),
        "draws": draws,
        "timesteps": list(timesteps),
        "real_error": float(real.mean()),
        "corruptions": {},
        "_errors": {"real": real},
    }
    g = torch.Generator(device=prior.device)
    for k, name in enumerate(corruptions):
        g.manual_seed(seed + 1000 + k)
        bad = CORRUPTIONS[name](windows.clone(), prior, g)
        err = sds_errors(prior, bad, timesteps, draws, seed + 1).cpu().numpy()
        result["_errors"][name] = err
        result["corruptions"][name] = {
            "error": float(err.mean()),
            "auc": roc_auc(real, err),
            "paired_win_rate": float((err > real).mean()),
        }
    return result


def public(result: dict) -> dict:
    """The JSON-able part of an evaluation (drops the per-window arrays)."""
    return {k: v for k, v in result.items() if not k.startswith("_")}
