"""torchrun on CPU (gloo): every rank builds its env with its own seed and device; all-reduce works."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sim]
REPO = Path(__file__).resolve().parents[2]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]  # this interpreter's smp_gym


def test_two_ranks_with_torchrun(tmp_path):
    proc = subprocess.run(
        [
            *TORCHRUN,
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


SKRL_TINY = [
    "--task",
    "SmpSteeringG1-v0",
    "--num-envs",
    "2",
    "--iterations",
    "2",
    "--rollouts",
    "4",
    "--mini-batches",
    "2",
    "--learning-epochs",
    "2",
    "--gsi-pool-size",
    "16",
    "--no-video",
    "--name",
    "ddp",
]


def test_skrl_two_ranks_share_normalizers_weights_and_one_run_dir(tmp_path):
    """examples/skrl_ppo.py under torchrun with 2 gloo ranks: each rank steps its own envs (own
    seed, so different observations), yet after 2 PPO iterations both hold the same observation,
    state and value normalizer statistics (all-reduced, SyncedStandardScaler) and the same policy
    and value weights, and only rank 0 wrote a run folder."""
    pytest.importorskip("skrl")
    out = tmp_path / "runs"
    proc = subprocess.run(
        [
            *TORCHRUN,
            "--nproc_per_node=2",
            "--master_port=29541",
            "examples/skrl_ppo.py",
            *SKRL_TINY,
            "--out",
            str(out),
            "--save-params",
            str(tmp_path / "params"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    import torch

    r0, r1 = (torch.load(tmp_path / "params" / f"rank{r}.pt") for r in (0, 1))
    assert r0["run_dir"] == r1["run_dir"] == str(out / "ddp")
    assert sorted(p.name for p in out.iterdir()) == ["ddp"]  # one run folder, rank 0's
    assert json.loads((out / "ddp" / "args.json").read_text())["num_envs"] == 2
    for module in ("observation_preprocessor", "state_preprocessor", "value_preprocessor"):
        a, b = r0["final"][module], r1["final"][module]
        # 2 ranks x 2 envs x 4 steps x 1 epoch-0 pass per minibatch, plus skrl's count prior of 1
        assert float(a["current_count"]) > 1.0, module
        for key in ("running_mean", "running_variance", "current_count"):
            assert torch.equal(a[key], b[key]), (module, key)
    for module in ("policy", "value"):
        for key, value in r0["final"][module].items():
            assert torch.equal(value, r1["final"][module][key]), (module, key)


def _run_dir_rank(rank: int, out: str, port: int) -> None:
    import os
    import time

    import torch.distributed as dist

    from smp_gym.tools import training

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    time.strftime = lambda fmt: f"stamp-of-rank-{rank}"  # the ranks' clocks disagree
    run = training.make_run_dir(Path(out), "Task", "lib")
    Path(out, f"rank{rank}.txt").write_text(str(run))
    dist.destroy_process_group()


def test_run_dir_is_created_by_rank_0_only_and_shared(tmp_path):
    """Two gloo ranks whose time stamps differ: one run folder (rank 0's), both ranks get its
    path (before, each rank made its own ``<task>_<library>_<time>`` folder)."""
    import torch.multiprocessing as mp

    out = tmp_path / "runs"
    out.mkdir()
    mp.spawn(_run_dir_rank, args=(str(out), 29547), nprocs=2)
    assert [p.name for p in out.iterdir() if p.is_dir()] == ["Task_lib_stamp-of-rank-0"]
    paths = {(out / f"rank{r}.txt").read_text() for r in (0, 1)}
    assert paths == {str(out / "Task_lib_stamp-of-rank-0")}
