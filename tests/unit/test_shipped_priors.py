"""The shipped priors: MANIFEST entries, size, sha256 verification and task defaults."""

import json

import pytest

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
    for key in ("sha256", "layout", "train_clips", "heldout_clips", "command", "evaluation", "seed"):
        assert key in entry, key
    assert all(v["auc"] > 0.5 for v in entry["evaluation"]["corruptions"].values())
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
