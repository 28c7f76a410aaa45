"""examples/cleanrl_ppo.py: one process, and two CPU ranks under torchrun (gloo) whose weights
stay identical (gradients averaged before every step) and move away from the start."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = [pytest.mark.slow, pytest.mark.sim]
REPO = Path(__file__).resolve().parents[2]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]  # this interpreter's smp_gym
TINY = [
    "--num-envs",
    "2",
    "--iterations",
    "2",
    "--num-steps",
    "4",
    "--num-minibatches",
    "2",
    "--update-epochs",
    "2",
    "--gsi-pool-size",
    "16",
    "--episode-length-s",
    "0.06",
    "--no-video",
    "--kl-threshold",
    "None",
]


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=900, **kw)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def _changed(params: dict) -> list[str]:
    return [k for k in params["final"] if not torch.equal(params["final"][k], params["initial"][k])]


def test_two_ranks_keep_identical_weights(tmp_path):
    run(
        [
            *TORCHRUN,
            "--nproc_per_node=2",
            "--master_port=29533",
            "examples/cleanrl_ppo.py",
            *TINY,
            "--out",
            str(tmp_path),
            "--name",
            "ddp",
            "--save-params",
            str(tmp_path / "params"),
        ]
    )
    r0, r1 = (torch.load(tmp_path / "params" / f"rank{r}.pt") for r in (0, 1))
    for key in r0["final"]:
        assert torch.equal(r0["initial"][key], r1["initial"][key]), key  # same start on both ranks
        assert torch.equal(r0["final"][key], r1["final"][key]), key  # ...and the same weights after
    # the actor, critic and the (rank-summed) observation normalizer all moved; log_std is fixed
    assert {"actor.0.weight", "critic.0.weight", "obs_rms.mean"} <= set(_changed(r0))
    assert "log_std" not in _changed(r0)
    args = json.loads((tmp_path / "ddp" / "args.json").read_text())
    assert args["world_size"] == 2 and not (tmp_path / "ddp_rank1").exists()
    assert (tmp_path / "ddp" / "checkpoint.pt").is_file() and (
        tmp_path / "ddp" / "policy.pt"
    ).is_file()


def test_single_process_logs_reward_decomposition(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run(
        [
            sys.executable,
            "examples/cleanrl_ppo.py",
            *TINY,
            "--out",
            str(tmp_path),
            "--name",
            "one",
            "--save-params",
            str(tmp_path / "params"),
        ]
    )
    assert {"actor.0.weight", "critic.0.weight"} <= set(
        _changed(torch.load(tmp_path / "params" / "rank0.pt"))
    )
    events = EventAccumulator(str(tmp_path / "one")).Reload()
    tags = set(events.Tags()["scalars"])
    # 0.06 s episodes are 3 control steps: 4-step rollouts end episodes in both iterations
    assert {
        "SMP/task_reward",
        "SMP/r_smp",
        "SMP/SDS_error",
        "Episode/episode_return",
        "losses/approx_kl",
    } <= tags
    assert [e.step for e in events.Scalars("SMP/r_smp")] == [
        8,
        16,
    ]  # 4 steps x 2 envs per iteration
    state = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=False)
    assert state["global_step"] == 16 and set(state) >= {"agent", "optimizer", "env"}
