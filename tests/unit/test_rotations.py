import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from smp_gym.motion import rotations as R


def random_quats(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return R.quat_normalize(torch.randn(n, 4, generator=g, dtype=torch.float64))


def same_rotation(a, b, tol=1e-9):
    return torch.minimum((a - b).abs().amax(-1), (a + b).abs().amax(-1)).max() < tol


def test_matrix_roundtrip():
    q = random_quats(1000)
    assert same_rotation(R.quat_from_matrix(R.matrix_from_quat(q)), q)


def test_rot6d_roundtrip_and_gram_schmidt():
    q = random_quats(500, 1)
    r6 = R.rot6d_from_quat(q)
    assert same_rotation(R.quat_from_rot6d(r6), q)
    noisy = r6 * 1.7 + 0.01 * torch.randn_like(r6)  # scale and small noise: still decodes close
    assert same_rotation(R.quat_from_rot6d(noisy), q, tol=0.05)


def test_apply_matches_matrix_and_inverse():
    q, v = random_quats(100, 2), torch.randn(100, 3, dtype=torch.float64)
    assert torch.allclose(R.quat_apply(q, v), (R.matrix_from_quat(q) @ v[..., None])[..., 0])
    assert torch.allclose(R.quat_apply_inverse(q, R.quat_apply(q, v)), v)


@given(st.floats(-math.pi + 1e-3, math.pi - 1e-3))
@settings(max_examples=50, deadline=None)
def test_yaw_roundtrip(yaw):
    q = R.quat_from_yaw(torch.tensor(yaw, dtype=torch.float64))
    assert abs(float(R.yaw_from_quat(q)) - yaw) < 1e-9


def test_yaw_of_tilted_body_and_sign_invariance():
    q = R.quat_mul(R.quat_from_yaw(torch.tensor(0.7)), torch.tensor([0.96, 0.2, 0.19, 0.0]))
    q = R.quat_normalize(q)
    assert torch.allclose(R.yaw_from_quat(q), R.yaw_from_quat(-q))
    heading = R.quat_apply(q, torch.tensor([1.0, 0.0, 0.0]))
    assert abs(float(R.yaw_from_quat(q)) - math.atan2(heading[1], heading[0])) < 1e-6


def test_axis_angle_and_slerp():
    axis = torch.tensor([0.0, 0.6, 0.8])
    q = torch.cat([torch.tensor([math.cos(0.4)]), math.sin(0.4) * axis])
    assert torch.allclose(R.axis_angle_from_quat(q), 0.8 * axis, atol=1e-6)
    assert torch.allclose(R.axis_angle_from_quat(torch.tensor([1.0, 0, 0, 0])), torch.zeros(3))
    q0, q1 = random_quats(2, 3).float()
    assert same_rotation(R.quat_slerp(q0, q1, torch.tensor(0.0)), q0, 1e-6)
    assert same_rotation(R.quat_slerp(q0, q1, torch.tensor(1.0)), q1, 1e-6)
    mid = R.quat_slerp(q0, q1, torch.tensor(0.5))
    a0 = R.axis_angle_from_quat(R.quat_mul(mid, R.quat_conj(q0))).norm()
    a1 = R.axis_angle_from_quat(R.quat_mul(q1, R.quat_conj(mid))).norm()
    assert abs(float(a0 - a1)) < 1e-5
