"""Gymnasium 1.4's own vector ``RecordVideo`` (moviepy writes the MP4) on the env behind
``ArrayConversion``: it asserts ``render()`` is a ``Sequence`` of ``num_envs`` frames
(gymnasium/wrappers/vector/rendering.py, ``_capture_frame``), keeps frame 0 with
``record_first_only=True`` and tiles all frames in one row otherwise. The MP4s are decoded back
(ffmpeg through imageio-ffmpeg, not the writer's code) and their frame count and size checked against
what Gymnasium documents: an episode recorded under SAME_STEP autoreset holds its reset frame and
every step's frame but the ending step's (RecordVideo's warning), so LIMIT frames for a LIMIT-step
episode. Without OpenGL, ``render()`` draws stick figures (one warning) or raises, by config."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.sim
pytest.importorskip("moviepy", reason="Gymnasium's RecordVideo writes with moviepy (.ci/run)")
# envs; steps per episode; frame size (sim.render_width/height). moviepy 2.2.1 itself drops the
# last frame of 11-13 frame clips at 50 fps (its frame times are float steps of 1/fps; measured
# with ImageSequenceClip alone): 10 frames are written exactly.
N, LIMIT, W, H = 2, 10, 160, 120
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env():
    from tests.sim.conftest import make

    env = make(
        "SmpSteeringG1-v0",
        num_envs=N,
        render_mode="rgb_array",
        max_episode_steps=LIMIT,
        gsi={"init": "default"},
        sim={"push_robot": False, "render_width": W, "render_height": H},
    )
    yield env
    env.close()


def record(env, folder: Path, **kwargs) -> Path:
    """One episode of env 0 recorded by Gymnasium's RecordVideo; returns the single MP4."""
    from gymnasium.wrappers.vector import ArrayConversion, RecordVideo

    rec = RecordVideo(
        ArrayConversion(env, env_xp=torch, target_xp=np),
        str(folder),
        episode_trigger=lambda episode: episode == 0,
        disable_logger=True,
        **kwargs,
    )
    rec.reset(seed=0)
    zeros = np.zeros((N, env.single_action_space.shape[0]), np.float32)
    for _ in range(LIMIT):  # the episode of env 0 ends on step LIMIT: the recording stops there
        rec.step(zeros)
    assert not rec.recording
    videos = sorted(folder.glob("*.mp4"))
    assert [v.name for v in videos] == ["rl-video-episode-0.mp4"]
    return videos[0]


def decode(path: Path) -> np.ndarray:
    """All frames of an MP4 through ffmpeg (imageio-ffmpeg's reader). Shape: [T, H, W, 3]."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    w, h = reader.__next__()["size"]
    return np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader])


def test_render_is_a_lazy_sequence_of_num_envs_frames(env):
    from collections.abc import Sequence

    assert "rgb_array" in env.metadata["render_modes"]
    env.reset(seed=0)
    frames = env.render()
    assert isinstance(frames, Sequence) and len(frames) == N
    a, b = frames[0], frames[-1]
    assert a.shape == b.shape == (H, W, 3) and a.dtype == np.uint8
    assert a.std() > 10 and b.std() > 10  # a scene, not a blank image
    with pytest.raises(IndexError):
        frames[N]


def test_record_first_only_writes_env_0(env, tmp_path):
    video = decode(record(env, tmp_path, record_first_only=True))
    assert video.shape == (LIMIT, H, W, 3)
    assert video.std(axis=(1, 2, 3)).min() > 10  # every frame shows the scene


def test_all_envs_are_tiled_side_by_side(env, tmp_path):
    video = decode(record(env, tmp_path))
    assert video.shape == (LIMIT, H, N * W, 3)  # 2 frames: 1 row x 2 columns
    left, right = video[:, :, :W], video[:, :, W:]
    assert left.std() > 10 and right.std() > 10


def test_without_opengl_stick_figures_or_a_clear_error():
    """MUJOCO_GL=disable (what configure_gl sets on a machine without OSMesa/EGL): render() still
    returns num_envs frames (stick figures, one warning naming the fix); no_gl='error' raises."""
    code = f"""
        import warnings, gymnasium, numpy as np, smp_gym
        kw = dict(num_envs=2, device="cpu", render_mode="rgb_array", gsi={{"init": "default"}},
                  sim={{"render_width": {W}, "render_height": {H}}})
        env = gymnasium.make_vec("SmpSteeringG1-v0", **kw)
        env.reset(seed=0)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            frames = env.render()
            a, b = frames[0], frames[1]
        assert len(frames) == 2 and a.shape == ({H}, {W}, 3) and a.std() > 5, (a.shape, a.std())
        assert sum("stick figures" in str(w.message) for w in caught) == 1, caught
        assert any("MUJOCO_GL=disable" in str(w.message) for w in caught)
        env.close()
        env = gymnasium.make_vec("SmpSteeringG1-v0", render={{"no_gl": "error"}}, **kw)
        env.reset(seed=0)
        try:
            env.render()[0]
        except RuntimeError as err:
            assert "osmesa" in str(err) and "no_gl" in str(err), err
            print("OK")
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "DISPLAY")}
    env.update(MUJOCO_GL="disable", OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0 and out.stdout.strip().endswith("OK"), out.stderr[-3000:]
