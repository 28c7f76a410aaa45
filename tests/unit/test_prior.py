"""Reference priors import and reproduce their golden outputs; our checkpoint format is data."""

import json

import pytest
import torch

from smp_gym.errors import PriorLoadError
from smp_gym.motion.dataset import build_windows
from smp_gym.motion.io import load_motions
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.prior.checkpoint import import_seed, load, load_prior, save_prior
from smp_gym.prior.denoiser import Denoiser, DenoiserCfg
from smp_gym.prior.evaluate import sds_errors, time_shuffle

GOLDEN = {  # docs/reference.md#golden-outputs: sum(out), mean|out| for x = linspace(-1, 1, 590) at t = 0, 15, 49
    "loco": [(-455.2018, 9.02845), (-34.6163, 1.07832), (-0.0852, 0.49887)],
    "lafan_run": [(-249.4611, 7.57386), (-19.8595, 1.06910), (0.0297, 0.50606)],
    "getup_f2s2": [(-169.4032, 9.90437), (-15.9481, 1.04341), (-0.2599, 0.50408)],
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_reference_priors_import_and_match_golden_outputs(seed_priors, name):
    prior = load_prior(seed_priors[name])
    assert prior.model.num_parameters() == 698_674
    assert prior.layout == L and prior.num_timesteps == 50
    x = torch.linspace(-1, 1, 590).reshape(1, 10, 59)
    for t, (s, m) in zip((0, 15, 49), GOLDEN[name], strict=True):
        out = prior.model(x, torch.tensor([t]))
        assert abs(out.sum().item() - s) < 2e-3 * max(1.0, abs(s))
        assert abs(out.abs().mean().item() - m) < 1e-4


def test_loco_prior_scores_real_windows_far_below_shuffled(seed_dir, seed_priors):
    prior = load_prior(seed_priors["loco"])
    windows = build_windows(load_motions(seed_dir / "csv", L), L).windows
    real = sds_errors(prior, windows, draws=2).mean()
    shuffled = sds_errors(
        prior, time_shuffle(windows.clone(), prior, torch.Generator().manual_seed(0)), draws=2
    ).mean()
    assert real <= 0.5 * shuffled, (real, shuffled)


def test_pickled_checkpoint_is_refused_with_the_fix(seed_dir):
    with pytest.raises(PriorLoadError, match="import-seed"):
        load(seed_dir / "pretrain_ckpt" / "pretrained_loco.pt")


def _tiny(tmp_path, name="tiny.safetensors"):
    model = Denoiser(DenoiserCfg(d_model=16, nhead=2, num_layers=1))
    return model, save_prior(
        tmp_path / name, model, torch.zeros(59), torch.ones(59), L, meta={"k": 1}
    )


def test_save_load_round_trip_is_exact_and_safe(tmp_path):
    model, path = _tiny(tmp_path)
    prior = load_prior(path)
    for k, v in model.state_dict().items():
        assert torch.equal(prior.model.state_dict()[k], v)
    assert prior.meta["k"] == 1 and len(prior.meta["sha256"]) == 64
    assert not prior.model.training and not any(p.requires_grad for p in prior.model.parameters())
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:  # plain tensors + JSON strings
        assert json.loads(f.metadata()["layout"])["feature_dim"] == 59


def test_missing_prior_lists_every_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("SMP_GYM_PRIORS", str(tmp_path))
    with pytest.raises(PriorLoadError) as err:
        load("no_such_prior")
    msg = str(err.value)
    assert "Searched" in msg and str(tmp_path) in msg and "shipped priors" in msg


def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    _, path = _tiny(tmp_path)
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(PriorLoadError, match="truncated or corrupt"):
        load_prior(tmp_path / "cut.safetensors")
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(PriorLoadError, match="not an smp_gym prior"):
        load_prior(tmp_path / "other.safetensors")
    with pytest.raises(PriorLoadError, match="sha256"):
        load_prior(path, expected_sha256="0" * 64)


def test_import_seed_rejects_non_checkpoints(tmp_path):
    torch.save({"weights": torch.zeros(1)}, tmp_path / "x.pt")
    with pytest.raises(PriorLoadError, match="lacks keys"):
        import_seed(tmp_path / "x.pt", tmp_path / "y.safetensors")
