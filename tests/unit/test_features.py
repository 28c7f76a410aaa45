"""Motion features: the reference's golden value, NPZ vs CSV agreement, world yaw/translation
invariance, and the window -> start state -> features round trip."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from smp_gym.errors import MotionDataError
from smp_gym.motion.dataset import build_windows, clip_windows, mirror_clip, norm_stats
from smp_gym.motion.features import (
    Frames,
    compute_features,
    features_to_frames,
    init_state_from_frames,
)
from smp_gym.motion.fk import ee_positions
from smp_gym.motion.io import load_csv, load_npz
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from smp_gym.motion.layout import G1_BODY_NAMES
from smp_gym.motion.rotations import quat_from_yaw, quat_mul
from tests.synthetic import gait_arrays, gait_clip


def test_reference_golden_feature(seed_dir):
    clip = load_csv(seed_dir / "csv" / "g1_walk.csv", L)
    # 32 rows at 30 fps -> 52 frames at 50 fps (docs/reference.md#motion-data-and-resampling)
    assert clip.num_frames == 52
    w = clip_windows(clip, L)
    golden = torch.tensor([0, 0, 0.779722, 0.999262, -0.0, 0.038405, -0.038373, 0.040862, 0.998428])
    assert torch.allclose(w[0, 9, :9], golden, atol=2e-6)


def test_reference_window_count_and_mirror(seed_dir):
    clips = {
        c: load_csv(seed_dir / "csv" / f"{c}.csv", L)
        for c in ("g1_walk", "g1_walk_mirror", "g1_jog", "g1_run")
    }
    assert [clip_windows(c, L).shape[0] for c in clips.values()] == [43, 43, 31, 31]
    ours = clip_windows(mirror_clip(clips["g1_walk"], L), L)
    theirs = clip_windows(clips["g1_walk_mirror"], L)
    assert (
        ours - theirs
    ).abs().max() < 1e-4  # our mirroring reproduces the reference's mirrored clip


def _write_npz(path, clip_frames_root, quat, joints, fps=50.0):
    """An mjlab motion NPZ of a 50 fps motion: all 30 bodies by FK, root velocities by differences."""
    from smp_gym.motion.io import root_velocities
    from smp_gym.motion.layout import FeatureLayout

    all_bodies = FeatureLayout(ee_body_names=G1_BODY_NAMES)
    pos = ee_positions(clip_frames_root, quat, joints, all_bodies)
    lin, ang = root_velocities(torch.as_tensor(clip_frames_root), torch.as_tensor(quat), 1 / fps)
    n = len(joints)
    body_quat = np.zeros((n, 30, 4))
    body_quat[:, :, 0] = 1.0
    body_quat[:, 0] = quat
    body_lin, body_ang = np.zeros((n, 30, 3)), np.zeros((n, 30, 3))
    body_lin[:, 0], body_ang[:, 0] = lin.numpy(), ang.numpy()
    np.savez(
        path,
        fps=np.array([fps]),
        joint_pos=joints,
        joint_vel=np.zeros_like(joints),
        body_pos_w=pos,
        body_quat_w=body_quat,
        body_lin_vel_w=body_lin,
        body_ang_vel_w=body_ang,
    )


def test_npz_and_csv_of_the_same_motion_agree(tmp_path):
    root, quat, joints = gait_arrays(seconds=3.0, fps=50.0)
    csv = tmp_path / "gait.csv"
    np.savetxt(csv, np.concatenate([root, quat[:, [1, 2, 3, 0]], joints], axis=1), delimiter=",")
    _write_npz(tmp_path / "gait.npz", root, quat, joints)
    from_csv = clip_windows(load_csv(csv, L, fps=50.0), L)
    from_npz = clip_windows(load_npz(tmp_path / "gait.npz", L), L)
    assert from_csv.shape == from_npz.shape
    assert (from_csv - from_npz).abs().max() < 1e-4


def _transform(frames: Frames, yaw: float, dx: float, dy: float) -> Frames:
    q = quat_from_yaw(torch.tensor(yaw))

    def rot(v):
        c, s = np.cos(yaw), np.sin(yaw)
        return torch.stack(
            [c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1], v[..., 2]], -1
        )

    shift = torch.tensor([dx, dy, 0.0])
    return Frames(
        rot(frames.root_pos_w) + shift,
        quat_mul(q.expand_as(frames.root_quat_w), frames.root_quat_w),
        rot(frames.root_lin_vel_w),
        rot(frames.root_ang_vel_w),
        rot(frames.ee_pos_w) + shift,
        frames.joint_pos,
    )


@pytest.fixture(scope="module")
def gait():
    return gait_clip("gait", speed=1.3, turn_rate=0.3)


@given(yaw=st.floats(-3.1, 3.1), dx=st.floats(-50, 50), dy=st.floats(-50, 50))
@settings(max_examples=25, deadline=None)
def test_features_invariant_to_world_yaw_and_translation(gait, yaw, dx, dy):
    idx = torch.arange(0, 40)[:, None] + torch.arange(L.window)[None]
    f0 = compute_features(gait.frames[idx], L)
    f1 = compute_features(_transform(gait.frames, yaw, dx, dy)[idx], L)
    assert (f0 - f1).abs().max() < 2e-4


@given(anchor_yaw=st.floats(-3.1, 3.1), ax=st.floats(-5, 5), ay=st.floats(-5, 5))
@settings(max_examples=20, deadline=None)
def test_window_to_state_to_features_round_trip(gait, anchor_yaw, ax, ay):
    windows = clip_windows(gait, L)[:16]
    frames = features_to_frames(
        windows, L, torch.tensor([[ax, ay]]).expand(16, 2), torch.full((16,), anchor_yaw)
    )
    assert torch.allclose(frames.root_pos_w[:, -1, :2], torch.tensor([ax, ay]).float(), atol=1e-5)
    assert (compute_features(frames, L) - windows).abs().max() < 1e-4
    state = init_state_from_frames(frames, L.dt)
    assert torch.allclose(
        state.joint_vel, (windows[:, -1, 9:38] - windows[:, -2, 9:38]) * 50.0, atol=1e-3
    )


def test_norm_stats_and_degenerate_dims(gait):
    ws = build_windows([gait], L)
    lo, hi = norm_stats(ws.windows)
    assert lo.shape == (59,) and (hi > lo).all()
    flat = ws.windows.reshape(-1, 59)
    assert torch.allclose(lo[9], torch.quantile(flat[:, 9].double(), 0.01).float(), atol=1e-5)


def test_too_short_clip_is_refused():
    with pytest.raises(MotionDataError, match="fewer than one window"):
        gait_clip("tiny", seconds=0.2)
