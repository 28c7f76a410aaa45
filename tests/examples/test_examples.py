"""Each example trains for a few iterations end to end and writes a policy that ``smp-gym
eval`` / ``play`` / ``export`` load (CPU, 4 envs)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.sim]
REPO = Path(__file__).resolve().parents[2]

COMMON = [
    "--task",
    "SmpSteeringG1-v0",
    "--num-envs",
    "4",
    "--iterations",
    "3",
    "--gsi-pool-size",
    "32",
    "--video-steps",
    "10",
]


def run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, **kw)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize(
    ("script", "extra"),
    [
        ("skrl_ppo.py", ["--rollouts", "8", "--checkpoint-every", "1"]),
        ("sb3_ppo.py", ["--n-steps", "8", "--checkpoint-every", "1"]),
        ("rsl_rl_ppo.py", ["--steps-per-env", "8", "--save-interval", "1"]),
        ("rl_games_ppo.py", ["--horizon", "8", "--checkpoint-every", "1"]),
    ],
)
def test_example_trains_and_its_policy_evaluates(script, extra, tmp_path):
    pytest.importorskip(script.split("_ppo")[0].replace("sb3", "stable_baselines3"))
    run(
        [
            sys.executable,
            f"examples/{script}",
            *COMMON,
            *extra,
            "--out",
            str(tmp_path),
            "--name",
            "run",
        ]
    )
    run_dir = tmp_path / "run"
    assert (run_dir / "policy.pt").is_file() and (run_dir / "args.json").is_file()
    assert (run_dir / "play.mp4").stat().st_size > 1000
    assert any(p.name.startswith("events.out.tfevents") for p in run_dir.rglob("*"))  # TensorBoard
    out = run(
        [
            sys.executable,
            "-m",
            "smp_gym.cli",
            "eval",
            "--checkpoint",
            str(run_dir),
            "--episodes",
            "2",
            "--num-envs",
            "2",
            "--json",
        ]
    )
    result = json.loads(out[out.index("{") :])
    assert result["task"] == "SmpSteeringG1-v0" and result["episodes"] == 2
    assert {"episode_return", "mean_r_smp", "vel_error", "fall_rate"} <= set(
        result
    )  # vel_error: declared
    assert result["metric_titles"]["vel_error"] == "velocity error [m/s]"


def test_a_run_that_fails_to_start_leaves_no_run_folder(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "examples/skrl_ppo.py",
            *COMMON,
            "--prior",
            "no-such-prior",
            "--out",
            str(tmp_path),
            "--name",
            "bad",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode != 0 and "no-such-prior" in proc.stderr
    assert not (tmp_path / "bad").exists()


def test_readme_job_without_any_gl_library_ends_with_a_stick_figure_clip(tmp_path):
    """README's `python examples/skrl_ppo.py` (shortened) with the GL detection told that neither
    OSMesa nor EGL exists (see tests/sim/test_headless.py for what that does and does not prove)."""
    pytest.importorskip("skrl")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY")
    }
    proc = subprocess.run(
        [
            sys.executable,
            "examples/skrl_ppo.py",
            *COMMON,
            "--rollouts",
            "8",
            "--out",
            str(tmp_path),
            "--name",
            "run",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**env, "SMP_GYM_GL_HIDE": "osmesa,egl"},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "run" / "play.mp4").stat().st_size > 1000
    assert proc.stderr.count("apt-get install libosmesa6") == 1  # one warning, saying how to fix it


def test_resume_from_a_checkpoint(tmp_path):
    pytest.importorskip("skrl")
    base = [
        sys.executable,
        "examples/skrl_ppo.py",
        *COMMON,
        "--rollouts",
        "8",
        "--checkpoint-every",
        "1",
        "--no-video",
        "--out",
        str(tmp_path),
    ]
    run([*base, "--name", "first"])
    ckpts = sorted((tmp_path / "first" / "skrl" / "checkpoints").glob("agent_*.pt"))
    assert ckpts
    run([*base, "--name", "second", "--resume", str(ckpts[-1])])
    assert (tmp_path / "second" / "policy.pt").is_file()


def test_export_onnx(tmp_path):
    pytest.importorskip("onnx")
    import numpy as np
    import onnx
    import torch

    from smp_gym.tools.policy import build_bundle, export_onnx, load_bundle, save_bundle

    lin = [torch.nn.Linear(101, 32), torch.nn.Linear(32, 29)]
    path = save_bundle(
        build_bundle(
            linears=lin,
            activation="elu",
            task="SmpSteeringG1-v0",
            library="test",
            obs_mean=torch.randn(101),
            obs_var=torch.rand(101) + 0.5,
        ),
        tmp_path / "policy.pt",
    )
    onnx_path = export_onnx(path)
    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model)
    policy, _ = load_bundle(path)
    import onnxruntime as ort  # a dev dependency (pyproject): missing it fails the test

    obs = np.random.default_rng(0).standard_normal((3, 101)).astype(np.float32)
    out = ort.InferenceSession(str(onnx_path)).run(None, {"obs": obs})[0]
    np.testing.assert_allclose(out, policy(torch.from_numpy(obs)).detach().numpy(), atol=1e-5)


@pytest.mark.parametrize(
    ("script", "extra", "checkpoint"),
    [
        ("skrl_ppo.py", ["--rollouts", "8"], "skrl/checkpoints/agent_{steps}.pt"),
        ("sb3_ppo.py", ["--n-steps", "8"], "checkpoints/model.zip"),
    ],
)
def test_ctrl_c_ends_the_run_with_a_checkpoint_and_a_policy(script, extra, checkpoint, tmp_path):
    """`timeout -s INT 1800 python examples/skrl_ppo.py` (docs/training.md) or a Ctrl-C: the run
    stops after the iteration it is in (skrl) or at the next env step (SB3, keeping its last
    update), writes a checkpoint and policy.pt, and exits 0."""
    import signal
    import time

    pytest.importorskip(script.split("_ppo")[0].replace("sb3", "stable_baselines3"))
    log = tmp_path / "log.txt"
    args = [*COMMON, *extra, "--no-video", "--out", str(tmp_path), "--name", "run"]
    args[args.index("--iterations") + 1] = "100000"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, f"examples/{script}", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    try:
        end = time.monotonic() + 600
        while "| 2/100000" not in log.read_text() and proc.poll() is None:
            assert time.monotonic() < end, log.read_text()[-3000:]
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]
    finally:
        proc.kill()
    text = log.read_text()
    done = int(text.split("stopped by Ctrl-C after iteration ")[1].split()[0])
    assert 2 <= done < 100000
    run_dir = tmp_path / "run"
    assert (run_dir / "policy.pt").is_file()
    assert (run_dir / checkpoint.format(steps=done * 8)).is_file()
