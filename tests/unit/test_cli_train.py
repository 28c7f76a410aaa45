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
