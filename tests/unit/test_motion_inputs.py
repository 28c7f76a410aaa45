"""Bad motion data gets a MotionDataError that names the file, the problem and the fix; fuzzed
inputs never escape as any other exception."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from smp_gym.errors import MotionDataError
from smp_gym.motion.features import Frames, compute_features
from smp_gym.motion.io import find_motion_files, load_csv, load_motions, load_npz
from smp_gym.motion.layout import DEFAULT_LAYOUT as L
from tests.synthetic import gait_arrays


def good_csv_rows(seconds=1.0):
    root, quat, joints = gait_arrays(seconds=seconds)
    return np.concatenate([root, quat[:, [1, 2, 3, 0]], joints], axis=1)


def write_csv(path, rows):
    np.savetxt(path, rows, delimiter=",")
    return path


def test_csv_wrong_column_count(tmp_path):
    with pytest.raises(MotionDataError, match=r"has 35 columns; .* has 36"):
        load_csv(write_csv(tmp_path / "a.csv", good_csv_rows()[:, :35]), L)


def test_csv_nan_rows(tmp_path):
    rows = good_csv_rows()
    rows[7, 12] = np.nan
    with pytest.raises(MotionDataError, match="NaN/inf values \\(first at frame 7"):
        load_csv(write_csv(tmp_path / "a.csv", rows), L)


def test_csv_too_few_frames(tmp_path):
    with pytest.raises(MotionDataError, match="fewer than one window of 10 frames"):
        load_csv(write_csv(tmp_path / "a.csv", good_csv_rows()[:5]), L)


def test_csv_wrong_quaternion_norm(tmp_path):
    rows = good_csv_rows()
    rows[:, 3:7] *= 2.0
    with pytest.raises(MotionDataError, match="norm 2.0000 .* column order"):
        load_csv(write_csv(tmp_path / "a.csv", rows), L)


def test_csv_not_numeric(tmp_path):
    (tmp_path / "a.csv").write_text("x,y,z\n1,2,3\n")
    with pytest.raises(MotionDataError, match="not a numeric comma-separated file"):
        load_csv(tmp_path / "a.csv", L)


def _npz(tmp_path, **overrides):
    t = 30
    d = {
        "fps": np.array([50.0]),
        "joint_pos": np.zeros((t, 29)),
        "joint_vel": np.zeros((t, 29)),
        "body_pos_w": np.zeros((t, 30, 3)),
        "body_quat_w": np.tile([1.0, 0, 0, 0], (t, 30, 1)),
        "body_lin_vel_w": np.zeros((t, 30, 3)),
        "body_ang_vel_w": np.zeros((t, 30, 3)),
    }
    d.update(overrides)
    d = {k: v for k, v in d.items() if v is not None}
    np.savez(tmp_path / "m.npz", **d)
    return tmp_path / "m.npz"


def test_npz_missing_keys_and_inconsistent_lengths(tmp_path):
    with pytest.raises(MotionDataError, match=r"missing keys \['body_quat_w'\]"):
        load_npz(_npz(tmp_path, body_quat_w=None), L)
    with pytest.raises(MotionDataError, match="disagree on the number of frames"):
        load_npz(_npz(tmp_path, joint_pos=np.zeros((29, 29))), L)
    with pytest.raises(MotionDataError, match="has 20 bodies"):
        load_npz(_npz(tmp_path, body_pos_w=np.zeros((30, 20, 3))), L)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(MotionDataError, match="cannot be read"):
        load_npz(tmp_path / "junk.npz", L)


def test_npz_at_another_fps_is_resampled(tmp_path):
    clip = load_npz(_npz(tmp_path, fps=np.array([25.0])), L)
    assert (
        clip.fps == 50.0 and clip.num_frames == 58
    )  # (30 - 1) / 25 s at 50 fps, endpoint excluded


def test_empty_or_missing_folder(tmp_path):
    with pytest.raises(MotionDataError, match=r"no \*.npz or \*.csv files"):
        find_motion_files(tmp_path)
    with pytest.raises(MotionDataError, match="does not exist"):
        load_motions(tmp_path / "nope", L)


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
anything = st.floats(allow_nan=True, allow_infinity=True, width=32)


@given(
    hnp.arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(30, 40)), elements=anything)
)
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzz_csv_loader(tmp_path, rows):
    path = tmp_path / "fuzz.csv"
    np.savetxt(path, rows, delimiter=",")
    try:
        clip = load_csv(path, L)
    except MotionDataError:
        return
    assert torch.isfinite(clip.frames.root_pos_w).all() and clip.num_frames >= L.window


@given(
    st.integers(5, 40),
    st.sampled_from([20.0, 30.0, 50.0, 60.0]),
    st.booleans(),
    st.integers(0, 2**31),
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_fuzz_npz_loader(tmp_path, frames, fps, corrupt, seed):
    rng = np.random.default_rng(seed)
    quat = rng.standard_normal((frames, 30, 4))
    quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
    if corrupt:
        quat[rng.integers(frames), 0] *= 3.0
    path = _npz(
        tmp_path,
        fps=np.array([fps]),
        joint_pos=rng.standard_normal((frames, 29)),
        joint_vel=np.zeros((frames, 29)),
        body_pos_w=rng.standard_normal((frames, 30, 3)),
        body_quat_w=quat,
        body_lin_vel_w=np.zeros((frames, 30, 3)),
        body_ang_vel_w=np.zeros((frames, 30, 3)),
    )
    try:
        clip = load_npz(path, L)
    except MotionDataError:
        return
    assert not corrupt and clip.num_frames >= L.window


@given(hnp.arrays(np.float32, (3, 10, Frames.packed_dim(L)), elements=finite))
@settings(max_examples=60, deadline=None)
def test_fuzz_features_are_finite(packed):
    x = torch.from_numpy(packed)
    x[..., 3:7] = x[..., 3:7] / x[..., 3:7].norm(dim=-1, keepdim=True).clamp_min(1e-3)
    x[..., 3] += (x[..., 3:7].norm(dim=-1) < 0.5).float()  # keep quaternions away from zero
    f = compute_features(Frames.unpack(x, L), L)
    assert f.shape == (3, 10, 59) and torch.isfinite(f).all()
