"""Quaternion and rotation helpers (wxyz, batched over leading dims, pure torch).

Our own small set rather than ``mjlab.utils.lab_api.math``: importing that module imports
mjlab (warp, plugins). A sim-marked test pins these to mjlab's implementations.
"""

from __future__ import annotations

import torch
from torch import Tensor


def quat_normalize(q: Tensor, eps: float = 1e-9) -> Tensor:
    return q / q.norm(dim=-1, keepdim=True).clamp_min(eps)


def quat_conj(q: Tensor) -> Tensor:
    return torch.cat([q[..., :1], -q[..., 1:]], dim=-1)


def quat_mul(a: Tensor, b: Tensor) -> Tensor:
    """Hamilton product ``a ⊗ b``. Shapes broadcast: [..., 4] x [..., 4] -> [..., 4]."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack(
        (
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ),
        dim=-1,
    )


def quat_apply(q: Tensor, v: Tensor) -> Tensor:
    """Rotate vectors ``v`` by unit quaternions ``q``. [..., 4], [..., 3] -> [..., 3]."""
    w = q[..., :1]
    xyz = q[..., 1:]
    t = 2.0 * torch.cross(xyz.expand_as(v), v, dim=-1)
    return v + w * t + torch.cross(xyz.expand_as(v), t, dim=-1)


def quat_apply_inverse(q: Tensor, v: Tensor) -> Tensor:
    """Rotate vectors ``v`` by the inverse of unit quaternions ``q``."""
    return quat_apply(quat_conj(q), v)


def yaw_from_quat(q: Tensor) -> Tensor:
    """Heading of the body x axis projected on the ground plane. [..., 4] -> [...]."""
    w, x, y, z = q.unbind(-1)
    return torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))


def quat_from_yaw(yaw: Tensor) -> Tensor:
    """Rotation about world z by ``yaw``. [...] -> [..., 4]."""
    half = 0.5 * yaw
    zero = torch.zeros_like(half)
    return torch.stack((torch.cos(half), zero, zero, torch.sin(half)), dim=-1)


def yaw_quat(q: Tensor) -> Tensor:
    """The yaw-only part of ``q`` (normalized), as mjlab's ``yaw_quat``."""
    return quat_from_yaw(yaw_from_quat(q))


def matrix_from_quat(q: Tensor) -> Tensor:
    """Rotation matrices from unit quaternions. [..., 4] -> [..., 3, 3]."""
    w, x, y, z = quat_normalize(q).unbind(-1)
    two = 2.0
    m = torch.stack(
        (
            1 - two * (y * y + z * z),
            two * (x * y - w * z),
            two * (x * z + w * y),
            two * (x * y + w * z),
            1 - two * (x * x + z * z),
            two * (y * z - w * x),
            two * (x * z - w * y),
            two * (y * z + w * x),
            1 - two * (x * x + y * y),
        ),
        dim=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def quat_from_matrix(m: Tensor) -> Tensor:
    """Unit quaternions (w >= 0) from rotation matrices, branch-free. [..., 3, 3] -> [..., 4].

    Builds the four Shepperd candidates and keeps, per element, the one with the largest
    (well-conditioned) pivot.
    """
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    pivots = torch.stack(
        (1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22),
        dim=-1,
    )
    cands = torch.stack(
        (
            torch.stack((pivots[..., 0], m21 - m12, m02 - m20, m10 - m01), dim=-1),
            torch.stack((m21 - m12, pivots[..., 1], m10 + m01, m02 + m20), dim=-1),
            torch.stack((m02 - m20, m10 + m01, pivots[..., 2], m21 + m12), dim=-1),
            torch.stack((m10 - m01, m20 + m02, m21 + m12, pivots[..., 3]), dim=-1),
        ),
        dim=-2,
    )  # [..., 4 candidates, 4]
    best = pivots.argmax(dim=-1, keepdim=True)
    q = torch.gather(cands, -2, best.unsqueeze(-1).expand(best.shape + (4,))).squeeze(-2)
    q = quat_normalize(q)
    return torch.where(q[..., :1] < 0, -q, q)


def rot6d_from_quat(q: Tensor) -> Tensor:
    """ "Tan-norm" 6D rotation: the rotated x axis then the rotated z axis. [..., 4] -> [..., 6]."""
    r = matrix_from_quat(q)
    return torch.cat((r[..., :, 0], r[..., :, 2]), dim=-1)


def quat_from_rot6d(r6: Tensor, eps: float = 1e-8) -> Tensor:
    """Inverse of :func:`rot6d_from_quat` for arbitrary (noisy) 6D inputs. [..., 6] -> [..., 4].

    col0 is normalized, col2 is Gram-Schmidt-orthogonalized against col0 and normalized,
    col1 = col2 x col0 (the reference's decoding).
    """
    c0 = r6[..., :3]
    c2 = r6[..., 3:]
    c0 = c0 / c0.norm(dim=-1, keepdim=True).clamp_min(eps)
    c2 = c2 - (c2 * c0).sum(-1, keepdim=True) * c0
    c2 = c2 / c2.norm(dim=-1, keepdim=True).clamp_min(eps)
    c1 = torch.cross(c2, c0, dim=-1)
    return quat_from_matrix(torch.stack((c0, c1, c2), dim=-1))


def axis_angle_from_quat(q: Tensor, eps: float = 1e-8) -> Tensor:
    """Rotation vector (axis * angle, angle in [0, pi]) of unit quaternions. [..., 4] -> [..., 3]."""
    q = torch.where(q[..., :1] < 0, -q, q)
    xyz = q[..., 1:]
    sin_half = xyz.norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, q[..., :1])
    # angle / sin(angle/2) -> 2 as angle -> 0
    scale = torch.where(
        sin_half > eps, angle / sin_half.clamp_min(eps), torch.full_like(angle, 2.0)
    )
    return xyz * scale


def quat_slerp(q0: Tensor, q1: Tensor, t: Tensor) -> Tensor:
    """Shortest-path spherical interpolation. q0, q1: [..., 4]; t: [...] in [0, 1]."""
    t = t.unsqueeze(-1)
    dot = (q0 * q1).sum(-1, keepdim=True)
    q1 = torch.where(dot < 0, -q1, q1)
    dot = dot.abs().clamp(max=1.0)
    theta = torch.acos(dot)
    sin_theta = torch.sin(theta)
    near = sin_theta < 1e-6
    safe = torch.where(near, torch.ones_like(sin_theta), sin_theta)
    w0 = torch.where(near, 1.0 - t, torch.sin((1.0 - t) * theta) / safe)
    w1 = torch.where(near, t, torch.sin(t * theta) / safe)
    return quat_normalize(w0 * q0 + w1 * q1)


def mirror_quat_xz(q: Tensor) -> Tensor:
    """Reflect an orientation through the world x-z plane (left/right mirror): (w,-x,y,-z)."""
    return q * q.new_tensor([1.0, -1.0, 1.0, -1.0])
