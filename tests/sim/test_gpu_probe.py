"""benchmarks/gpu_probe.py, the first script for a lent GPU: on a machine without CUDA it stops
at once with a clear message (no traceback); ``--dry-run`` runs its whole sequence on the CPU
at 4 envs and writes the JSON with every stage."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = [sys.executable, "benchmarks/gpu_probe.py"]


def _run(args, **env):
    return subprocess.run(
        PROBE + args,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=1800,
        env={**os.environ, **env},
    )


def test_without_cuda_it_exits_at_once_with_a_message(tmp_path):
    proc = _run(["--out", str(tmp_path / "p.json")], CUDA_VISIBLE_DEVICES="")
    assert proc.returncode == 2
    assert "no CUDA device" in proc.stderr and "--dry-run" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (tmp_path / "p.json").exists()


@pytest.mark.slow
@pytest.mark.sim
def test_dry_run_runs_the_whole_sequence_on_cpu(tmp_path):
    out = tmp_path / "probe.json"
    proc = _run(["--dry-run", "--out", str(out)], CUDA_VISIBLE_DEVICES="")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["dry_run"] and result["failed"] == []
    stages = result["stages"]
    assert list(stages) == [
        "machine",
        "steering_4",
        "state_dict_map_location",
        "modes_and_dodgeball",
    ]
    assert not any("error" in s for s in stages.values()), stages
    steering = stages["steering_4"]
    for side in ("raw", "smp"):
        row = steering[side]
        assert row["steps_per_s"] > 0 and len(row["first_steps_ms"]) == 2
        assert row["sync_counter"]["total"] >= 1 and row["warp_launches_per_step"] > 0
    # our one sync per step (the ended-envs nonzero) is seen by source line
    assert any("smp_gym/env.py" in k for k in steering["smp"]["sync_counter"]["by_site"])
    assert stages["state_dict_map_location"]["checks"]["load_state_dict"]["ok"]
    assert set(stages["modes_and_dodgeball"]) >= {"dodgeball", "next_step", "disabled"}
