"""Normalization ranges: q01/q99 per feature (docs/reference.md#normalization), the degenerate-dim rule, and the
floor that keeps nearly constant features from blowing up normalized values."""

import pytest
import torch

from smp_gym.errors import MotionDataError
from smp_gym.motion.dataset import MIN_RANGE, narrow_dims, norm_stats
from smp_gym.motion.layout import DEFAULT_LAYOUT as L


def test_floor_widens_narrow_features_about_their_midpoint():
    # 101 frames: dim 0 spans 0..1 (q01 = 0.01, q99 = 0.99), dim 1 spans 0.30..0.31 (range
    # 0.0098 < 0.05), dim 2 is constant 2.0 (degenerate: q_high = q_low + 1).
    t = torch.linspace(0, 1, 101)
    w = torch.stack((t, 0.30 + 0.01 * t, torch.full_like(t, 2.0)), dim=-1).reshape(101, 1, 3)
    lo, hi = norm_stats(w)
    assert lo[0].item() == pytest.approx(0.01, abs=1e-6) and hi[0].item() == pytest.approx(
        0.99, abs=1e-6
    )
    mid = 0.30 + 0.01 * 0.5  # (0.3001 + 0.3099) / 2
    assert lo[1].item() == pytest.approx(mid - 0.025, abs=1e-6)
    assert hi[1].item() == pytest.approx(mid + 0.025, abs=1e-6)
    assert (lo[2].item(), hi[2].item()) == (2.0, 3.0)
    assert narrow_dims(lo, hi) == [1]
    lo0, hi0 = norm_stats(w, min_range=0.0)  # no floor: the raw quantiles
    assert hi0[1].item() - lo0[1].item() == pytest.approx(0.0098, abs=1e-6)
    assert MIN_RANGE == 0.05
    with pytest.raises(MotionDataError, match="min_range: received -1"):
        norm_stats(w, min_range=-1)


def test_feature_names_follow_the_layout():
    names = L.feature_names
    assert (
        len(names) == 59
        and names[2] == "root_pos.z"
        and names[9] == "joint_pos.left_hip_pitch_joint"
    )
    assert names[46] == "ee_pos.torso_link.z" and names[58] == "root_ang_vel.z"
