"""GSI: the start state written into the simulator reads back as the window it came from; the
write runs inside mjlab's reset, so observations after a reset already see it."""

import pytest
import torch

from smp_gym.motion.dataset import build_windows, norm_stats, save_windows
from smp_gym.motion.features import Frames, compute_features
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.motion.rotations import axis_angle_from_quat, quat_conj, quat_mul
from tests.sim.conftest import make

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def feature_file(tmp_path_factory, synthetic_clips):
    ws = build_windows(synthetic_clips[:2], L, stride=7)
    path = tmp_path_factory.mktemp("gsi") / "windows.npz"
    save_windows(path, ws, *norm_stats(ws.windows))
    return path


def _drawn_window(u):
    """Capture the window each reset draws (the env writes its last frame and primes its motion
    window with it)."""
    drawn = {}
    original = u.start_states.sample

    def spy(env_ids):
        start = original(env_ids)
        drawn["frames"] = start.frames.clone()
        drawn["ids"] = env_ids.clone()
        return start

    u.start_states.sample = spy
    return drawn


def test_dataset_window_round_trips_through_the_simulator(feature_file):
    env = make(
        "SmpSteeringG1-v0",
        num_envs=3,
        gsi={"init": "dataset", "dataset": str(feature_file)},
        sim={"push_robot": False},
    )
    u = env.unwrapped
    drawn = _drawn_window(u)
    env.reset(seed=0)
    written = Frames.unpack(drawn["frames"], L)  # [3, W] chronological, env-local
    read = u._reader()  # forward() has run inside reset: kinematics of the written state
    last = written[:, -1]
    assert torch.allclose(read.root_pos_w, last.root_pos_w, atol=1e-5)
    dq = axis_angle_from_quat(quat_mul(read.root_quat_w, quat_conj(last.root_quat_w))).norm(dim=-1)
    assert (dq < 1e-4).all()
    assert torch.allclose(read.joint_pos, last.joint_pos, atol=1e-5)
    assert torch.allclose(read.ee_pos_w, last.ee_pos_w, atol=2e-4)  # same FK model, same state
    assert torch.allclose(read.root_lin_vel_w, last.root_lin_vel_w, atol=1e-4)
    assert torch.allclose(read.root_ang_vel_w, last.root_ang_vel_w, atol=1e-4)
    window = compute_features(written, L)
    sim_window = compute_features(
        Frames.unpack(torch.cat([drawn["frames"][:, :-1], read.pack()[:, None]], 1), L), L
    )
    assert (sim_window - window).abs().max() < 1e-3
    # The motion window is primed from the draw, its last frame as the simulator holds it and
    # every frame's joints within the joint limits (what was written, not the raw sample).
    limits = u.sim.scene["robot"].data.joint_pos_limits[0]
    primed = Frames.unpack(torch.cat([drawn["frames"][:, :-1], read.pack()[:, None]], 1), L)
    primed.joint_pos = torch.clamp(primed.joint_pos, limits[:, 0], limits[:, 1])
    assert torch.allclose(u.window.features(), compute_features(primed, L), atol=1e-5)
    env.close()


def test_prior_samples_start_close_to_their_window():
    env = make("SmpSteeringG1-v0", num_envs=4, sim={"push_robot": False})
    u = env.unwrapped
    drawn = _drawn_window(u)
    env.reset(seed=0)
    last = Frames.unpack(drawn["frames"], L)[:, -1]
    read = u._reader()
    limits = u.sim.scene["robot"].data.joint_pos_limits[0]
    assert torch.allclose(read.root_pos_w, last.root_pos_w, atol=1e-5)
    clamped = torch.clamp(last.joint_pos, limits[:, 0], limits[:, 1])
    assert torch.allclose(read.joint_pos, clamped, atol=1e-5)
    assert (read.ee_pos_w - last.ee_pos_w).norm(dim=-1).max() < 0.15  # samples are near-kinematic
    assert u.gsi.pool.shape == (64, 10, 59)
    env.close()


def test_default_init_starts_in_the_keyframe():
    env = make("SmpSteeringG1-v0", num_envs=2, gsi={"init": "default"}, sim={"push_robot": False})
    env.reset(seed=0)
    root = env.unwrapped._reader().root_pos_w
    assert torch.allclose(root[:, 2], torch.full((2,), 0.76), atol=1e-4)
    assert torch.allclose(env.unwrapped.window.frames()[:, 0], env.unwrapped.window.frames()[:, -1])
    env.close()


def test_pool_refresh_happens_during_steps():
    env = make(
        "SmpSteeringG1-v0",
        num_envs=2,
        gsi={"pool_size": 8, "batch_size": 8, "refresh_interval": 50, "refresh_count": 4},
    )
    u = env.unwrapped
    before = u.gsi.pool.clone()
    env.reset(seed=0)
    for _ in range(100):
        env.step(torch.zeros(2, 29))
    assert u.gsi.refreshes == 1 and not torch.equal(u.gsi.pool[:4], before[:4])
    assert torch.equal(u.gsi.pool[4:], before[4:])
    env.close()
