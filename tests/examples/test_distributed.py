"""torchrun on CPU (gloo): every rank builds its env with its own seed and device; all-reduce works."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sim]
REPO = Path(__file__).resolve().parents[2]


def test_two_ranks_with_torchrun(tmp_path):
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    proc = subprocess.run(
        [
            torchrun,
            "--nproc_per_node=2",
            "--master_port=29517",
            "tests/examples/dist_probe.py",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["seed"] for r in ranks] == [100, 101]
    assert all(r["device"] == "cpu" and r["allreduce_ok"] for r in ranks)
