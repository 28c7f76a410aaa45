"""The viewer's machinery without a browser (tests/browser drives the page): a command set by
hand lands in the env's mjlab command term and is held, the per-diffusion-step SDS error comes
from the env's own reward call, and the record-clip button writes an MP4 of what was stepped."""

from __future__ import annotations

import math
import socket

import numpy as np
import pytest
import torch

from tests.sim.conftest import make

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def env():
    env = make(
        "SmpSteeringG1-v0",
        num_envs=2,
        render_mode="rgb_array",
        sim={"push_robot": False, "render_width": 96, "render_height": 64},
    )
    yield env.unwrapped
    env.close()


def test_a_command_set_by_hand_is_written_and_held(env):
    from smp_gym.tools import viewer_control as vc

    env.reset(seed=0)
    now = vc.set_command(env, 1, direction_deg=90.0, speed=1.25, facing_deg=180.0)
    term = env.sim.command_manager.get_term("steering")
    assert torch.allclose(term.tar_dir_w[1], torch.tensor([0.0, 1.0]), atol=1e-6)
    assert torch.allclose(term.face_dir_w[1], torch.tensor([-1.0, 0.0]), atol=1e-6)
    assert float(term.tar_speed[1]) == 1.25
    assert now == {"direction_deg": 90.0, "speed": 1.25, "facing_deg": 180.0}
    for _ in range(3):  # held: the 3-8 s resampling timer was pushed out
        env.step(torch.zeros(2, env.single_action_space.shape[0]))
    assert vc.read_command(env, 1)["speed"] == 1.25 and float(term.time_left[1]) > 1e6
    with pytest.raises(ValueError, match="unknown fields"):
        vc.set_command(env, 0, goal_x=1.0)


def test_sds_error_per_diffusion_step_comes_from_the_env_reward(env):
    from smp_gym.tools import viewer_control as vc

    env.reward = vc.RecordingReward(env.reward)
    try:
        env.reset(seed=0)
        _, reward, _, _, info = env.step(torch.zeros(2, env.single_action_space.shape[0]))
        raw = env.reward.last_raw
        assert raw.shape == (2, 3)  # K = 3 timesteps (8, 15, 22)
        sig = vc.step_signals(env, info, reward, 1)
        ks = [sig[f"sds_t{k}"] for k in (8, 15, 22)]
        assert ks == raw[1].tolist()
        assert math.isclose(sum(ks) / 3, sig["sds_error"], rel_tol=1e-5)  # info: mean over K
        assert {"task_reward", "smp_reward", "reward"} <= set(sig)
    finally:
        env.reward = env.reward._inner


@pytest.fixture
def viewer(env, tmp_path):
    """The viewer on ``env`` (random actions) on a free localhost port, no browser; clips go to
    ``tmp_path``. Afterwards the env gets its own reward back."""
    from smp_gym.tools import viewer_control as vc
    from smp_gym.tools.viewer import Viewer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    viewer = Viewer(env, vc.ActionSource(env), "random", "127.0.0.1", port, tmp_path, 1.0)
    yield viewer
    viewer.close()
    env.reward = env.reward._inner


def test_record_clip_writes_the_stepped_frames(viewer, tmp_path):
    import imageio_ffmpeg

    viewer._reset()
    viewer._toggle_record()
    for _ in range(5):
        viewer._advance()
    viewer._toggle_record()
    viewer._draw()
    reader = imageio_ffmpeg.read_frames(str(tmp_path / "clip-001.mp4"))
    assert next(reader)["size"] == (96, 64)
    frames = [np.frombuffer(f, np.uint8) for f in reader]
    assert len(frames) == 5 and min(f.std() for f in frames) > 5
    assert "command {" in viewer.status.content and viewer.steps == 5


def test_the_sliders_follow_a_command_the_env_draws_itself_and_the_selected_env(env, viewer):
    """An automatic episode reset resamples the command (mjlab's command manager reset): the
    next frame shows it on the sliders; so does selecting another env."""
    from smp_gym.tools import viewer_control as vc

    viewer._reset()
    viewer._draw()
    vc.set_command(env, 0, speed=0.5, direction_deg=0.0, facing_deg=0.0)
    vc.set_command(env, 1, speed=2.0, direction_deg=90.0, facing_deg=-90.0)
    viewer._draw()
    assert viewer.sliders["speed"].value == 0.5
    torch.manual_seed(3)
    env.sim.command_manager.reset(env_ids=torch.tensor([0]))  # as an episode end does
    drawn = vc.read_command(env, 0)
    assert drawn["speed"] != 0.5
    viewer._draw()
    assert {k: s.value for k, s in viewer.sliders.items()} == pytest.approx(drawn)
    viewer.scene.env_idx = 1
    viewer._draw()
    shown = {k: s.value for k, s in viewer.sliders.items()}
    assert shown == {"direction_deg": 90.0, "speed": 2.0, "facing_deg": -90.0}
