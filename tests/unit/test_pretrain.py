"""Pretraining lowers the loss, checkpoints reload bit-identically, resuming loses nothing, and
the evaluation separates held-out real windows from corrupted ones."""

import csv

import pytest
import torch

from smp_gym.motion.dataset import build_windows, norm_stats
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.prior.checkpoint import load_prior
from smp_gym.prior.config import DenoiserCfg, PretrainCfg
from smp_gym.prior.evaluate import evaluate_prior, roc_auc
from smp_gym.tools.pretrainer import Pretrainer

TINY = DenoiserCfg(d_model=64, nhead=4, num_layers=2)


def _trainer(synthetic_clips, run_dir, steps, **kw):
    train = build_windows(synthetic_clips[:5], L, mirror=True)
    held = build_windows(synthetic_clips[5:], L)
    lo, hi = norm_stats(train.windows)
    cfg = PretrainCfg(
        model=TINY,
        steps=steps,
        batch_size=64,
        noise_samples=2,
        lr=2e-3,
        eval_every=50,
        save_every=50,
        focus_max_t=24,
        **kw,
    )
    return Pretrainer(cfg, train, held, lo, hi, run_dir, torch.device("cpu"))


@pytest.fixture(scope="module")
def trained(synthetic_clips, tmp_path_factory):
    run = tmp_path_factory.mktemp("pretrain")
    trainer = _trainer(synthetic_clips, run / "run", steps=400)
    trainer.train(run / "prior.safetensors", progress=False)
    return trainer, run


def test_loss_goes_down_and_logs_are_written(trained):
    trainer, run = trained
    rows = list(csv.DictReader(open(run / "run" / "log.csv")))
    assert len(rows) == 8
    assert float(rows[-1]["train_loss"]) < 0.7 * float(rows[0]["train_loss"])
    assert float(rows[-1]["heldout_loss"]) < float(rows[0]["heldout_loss"])
    assert any((run / "run" / "tb").iterdir())


def test_saved_prior_reloads_bit_identically(trained):
    trainer, run = trained
    prior = load_prior(run / "prior.last.safetensors")
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(prior.model.state_dict()[k], v), k
    x = torch.randn(3, 10, 59)
    t = torch.tensor([1, 20, 40])
    assert torch.equal(prior.model(x, t), trainer.model.eval()(x, t))
    assert prior.meta["train_clips"] and prior.meta["heldout_clips"] == ["walk_c"]
    best = load_prior(run / "prior.safetensors")  # early stopping keeps the best held-out prior
    rows = list(csv.DictReader(open(run / "run" / "log.csv")))
    assert best.meta["heldout_loss"] == pytest.approx(
        min(float(r["heldout_loss"]) for r in rows), rel=1e-5
    )


def test_resume_continues_exactly_where_it_stopped(synthetic_clips, tmp_path, monkeypatch):
    straight = _trainer(synthetic_clips, tmp_path / "a", steps=100, lr_final_frac=0.1)
    straight.train(tmp_path / "a.safetensors", progress=False)
    crashing = _trainer(synthetic_clips, tmp_path / "b", steps=100, lr_final_frac=0.1)

    def crash_after_checkpoint():
        if crashing.step == 51:
            raise KeyboardInterrupt  # the run dies one step after its step-50 checkpoint

    monkeypatch.setattr(crashing.core, "_ema_update", crash_after_checkpoint)
    with pytest.raises(KeyboardInterrupt):
        crashing.train(tmp_path / "b.safetensors", progress=False)
    assert not (tmp_path / "b.last.safetensors").exists()
    resumed = _trainer(synthetic_clips, tmp_path / "b", steps=100, lr_final_frac=0.1)
    assert resumed.resume() and resumed.step == 50
    resumed.train(tmp_path / "b.safetensors", progress=False)
    for k, v in straight.model.state_dict().items():
        assert torch.allclose(resumed.model.state_dict()[k], v, atol=1e-6), k


def test_eval_auc_well_above_chance_on_held_out_clip(trained, synthetic_clips):
    _, run = trained
    prior = load_prior(run / "prior.safetensors")
    held = build_windows(synthetic_clips[5:], L).windows
    result = evaluate_prior(prior, held, draws=4)
    for name, r in result["corruptions"].items():
        assert r["auc"] > 0.75, (name, r)


def test_roc_auc_basics():
    assert roc_auc([0.0, 0.1], [0.5, 0.6]) == 1.0
    assert roc_auc([0.5, 0.6], [0.0, 0.1]) == 0.0
    assert roc_auc([1.0, 1.0], [1.0, 1.0]) == 0.5


def test_cli_eval_on_a_priors_recorded_heldout_windows(trained, tmp_path, capsys):
    """`smp-gym prior eval A B --heldout-of A` scores both priors on A's held-out windows."""
    import json

    import numpy as np

    from smp_gym.cli import prior_eval
    from tests.synthetic import gait_arrays

    _, run = trained
    root, quat, joints = gait_arrays(
        speed=1.2, cadence=1.8, phase=2.5, turn_rate=-0.1
    )  # walk_c's spec
    np.savetxt(
        tmp_path / "walk_c.csv",
        np.concatenate([root, quat[:, [1, 2, 3, 0]], joints], axis=1),
        delimiter=",",
    )
    ckpt = str(run / "prior.safetensors")
    prior_eval(
        [ckpt, str(run / "prior.last.safetensors")], motions=[tmp_path], heldout_of=ckpt, json=True
    )
    out = json.loads(capsys.readouterr().out)
    held = build_windows([c for c in _clips_named("walk_c")], L).windows
    assert [r["num_windows"] for r in out.values()] == [len(held)] * 2
    assert out[ckpt]["corruptions"]["joint_noise"]["auc"] > 0.75


def _clips_named(name):
    from tests.synthetic import gait_clips

    return [c for c in gait_clips() if c.name == name]


def test_prior_package_imports_no_logging_or_progress_library():
    """``prior/`` is a library (issue 18 item 10): TensorBoard, tqdm, rich and matplotlib belong to
    the pretraining application in ``tools/``. import-linter's ``prior-library`` contract checks
    the import graph, but sees ``torch.utils.tensorboard`` only as ``torch`` (external packages
    are single nodes), so every import statement in ``prior/`` is read here too."""
    import ast
    from pathlib import Path

    import smp_gym.prior

    banned = ("torch.utils.tensorboard", "tensorboard", "tqdm", "rich", "matplotlib")
    found = []
    for path in Path(smp_gym.prior.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in banned[1:]]
            found += [f"{path.name}: {n}" for n in names if n.startswith(banned[0])]
    assert found == []
