"""`smp-gym train` runs the chosen example as a script (it does not import it)."""

import subprocess
import sys
from pathlib import Path

import pytest

from smp_gym import cli

REPO = Path(__file__).resolve().parents[2]


def test_train_runs_the_example_script_with_the_given_flags(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda argv: calls.append(argv) or 7)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(
            [
                "train",
                "--library",
                "sb3",
                "--task",
                "SmpForwardG1-v0",
                "--iterations",
                "2",
                "--out",
                "x",
            ]
        )
    assert exit_info.value.code == 7  # the script's exit status is the command's
    (argv,) = calls
    assert argv[0] == sys.executable and Path(argv[1]) == REPO / "examples" / "sb3_ppo.py"
    assert argv[2:] == [
        "--task",
        "SmpForwardG1-v0",
        "--iterations",
        "2",
        "--seed",
        "0",
        "--device",
        "auto",
        "--out",
        "x",
    ]
    assert "smp_gym.examples.sb3_ppo" not in sys.modules


def test_pretrain_flags_are_the_fields_of_PretrainRun(monkeypatch, capsys):
    """`smp-gym pretrain` takes the run's dataclass itself: each flag lands on its field (the
    `--cfg.*` ones on PretrainCfg, `--cfg.model.*` on DenoiserCfg); defaults are the dataclass's."""
    from smp_gym.prior.config import DenoiserCfg, PretrainCfg
    from smp_gym.tools import pretrain as app

    runs = []
    monkeypatch.setattr(app, "run_pretrain", lambda run: runs.append(run) or {"steps": 7})
    cli.main(["pretrain", "--motions", "a", "b.npz", "--out", "p.safetensors"])
    cli.main(
        [
            "pretrain",
            "--motions",
            "a",
            "--out",
            "p.safetensors",
            "--holdout",
            "walk_c",
            "--no-mirror",
            "--holdout-tail",
            "0.2",
            "--cfg.steps",
            "7",
            "--cfg.lr-final-frac",
            "0.1",
            "--cfg.model.d-model",
            "64",
            "--device",
            "cpu",
            "--no-progress",
        ]
    )
    assert runs[0] == app.PretrainRun(motions=(Path("a"), Path("b.npz")), out=Path("p.safetensors"))
    assert runs[0].cfg == PretrainCfg() and runs[0].mirror and runs[0].device == "auto"
    assert runs[1] == app.PretrainRun(
        motions=(Path("a"),),
        out=Path("p.safetensors"),
        holdout=("walk_c",),
        mirror=False,
        holdout_tail=0.2,
        cfg=PretrainCfg(steps=7, lr_final_frac=0.1, model=DenoiserCfg(d_model=64)),
        device="cpu",
        progress=False,
    )
    assert capsys.readouterr().out.count('"steps": 7') == 2  # the summary, as JSON


def test_pretrain_bad_values_name_the_field(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["pretrain", "--motions", "a", "--out", "p", "--holdout-tail", "1.5"])
    assert exit_info.value.code == 2
    assert "PretrainRun.holdout_tail (--holdout-tail): received 1.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["pretrain", "--motions", "--out", "p"])
    assert "PretrainRun.motions: received no motion file" in capsys.readouterr().err
