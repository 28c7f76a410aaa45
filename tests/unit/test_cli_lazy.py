"""``smp-gym tasks`` and ``smp-gym --help`` import no torch and no mjlab (issue 18 item 9): main()
resolves only the chosen command's signature, and each command imports its heavy modules inside
its own body. Pinned on what was imported (``python -X importtime`` lists every module a process
imports), not on a wall time."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "mjlab", "warp", "mujoco_warp", "mujoco")


def _imported(*argv: str) -> tuple[set[str], subprocess.CompletedProcess]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "smp_gym.cli", *argv],
        capture_output=True,
        text=True,
    )
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return names, proc


@pytest.mark.parametrize(
    "argv",
    [
        ("tasks",),
        ("--help",),
        ("prior", "--help"),
        ("data", "--help"),
        ("check", "--help"),
        ("pretrain", "--help"),
    ],
    ids=" ".join,
)
def test_command_imports_no_torch_or_simulator(argv):
    names, proc = _imported(*argv)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "smp_gym" in names and "tyro" in names  # the probe sees the imports it should
    assert sorted(m for m in HEAVY if m in names) == []


def test_tasks_still_lists_every_id():
    names, proc = _imported("tasks")
    for task_id in ("SmpForwardG1-v0", "SmpSteeringG1-v0", "SmpDodgeballG1-v0"):
        assert task_id in proc.stdout


def test_help_lists_every_command_and_group():
    from smp_gym.cli import COMMANDS, GROUPS

    _, proc = _imported("--help")
    for name in (*COMMANDS, *GROUPS):
        assert f"• {name} " in proc.stdout or f"• {name}\n" in proc.stdout, name
