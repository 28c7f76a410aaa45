"""Motion features (docs/reference.md#feature-layout) from kinematic frames, and their inverse
for GSI.

A window's features are expressed in the yaw-only frame of its **last** frame (the anchor):
root xy relative to the anchor, absolute root height, tan-norm 6D root rotation, joint angles,
end-effector offsets from the same-frame root, and root linear/angular velocity.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from smp_gym.motion.layout import FeatureLayout
from smp_gym.motion.rotations import (
    quat_from_rot6d,
    quat_from_yaw,
    quat_mul,
    rot6d_from_quat,
    yaw_from_quat,
)


@dataclass
class Frames:
    """World-frame kinematics of the root, the end-effectors and the joints.

    Leading dims are free (``[T]``, ``[N, W]``, ...); E = end-effectors, J = joints.
    """

    root_pos_w: Tensor  # [..., 3]
    root_quat_w: Tensor  # [..., 4] wxyz
    root_lin_vel_w: Tensor  # [..., 3]
    root_ang_vel_w: Tensor  # [..., 3]
    ee_pos_w: Tensor  # [..., E, 3]
    joint_pos: Tensor  # [..., J]

    @staticmethod
    def packed_dim(layout: FeatureLayout) -> int:
        return 13 + 3 * layout.num_ees + layout.num_joints

    def pack(self) -> Tensor:
        """Concatenate into one tensor ``[..., 13 + 3E + J]`` (the ring buffer's storage)."""
        return torch.cat(
            (
                self.root_pos_w,
                self.root_quat_w,
                self.root_lin_vel_w,
                self.root_ang_vel_w,
                self.ee_pos_w.flatten(-2),
                self.joint_pos,
            ),
            dim=-1,
        )

    @staticmethod
    def unpack(x: Tensor, layout: FeatureLayout) -> Frames:
        e3 = 3 * layout.num_ees
        return Frames(
            root_pos_w=x[..., 0:3],
            root_quat_w=x[..., 3:7],
            root_lin_vel_w=x[..., 7:10],
            root_ang_vel_w=x[..., 10:13],
            ee_pos_w=x[..., 13 : 13 + e3].unflatten(-1, (layout.num_ees, 3)),
            joint_pos=x[..., 13 + e3 :],
        )

    def __getitem__(self, idx) -> Frames:
        return Frames(*(t[idx] for t in self.astuple()))

    def astuple(self) -> tuple[Tensor, ...]:
        return (
            self.root_pos_w,
            self.root_quat_w,
            self.root_lin_vel_w,
            self.root_ang_vel_w,
            self.ee_pos_w,
            self.joint_pos,
        )

    @property
    def num_frames(self) -> int:
        return self.root_pos_w.shape[-2]


@dataclass
class InitState:
    """A simulator start state (world frame): what GSI writes for the window's last frame."""

    root_pos_w: Tensor  # [n, 3]
    root_quat_w: Tensor  # [n, 4]
    root_lin_vel_w: Tensor  # [n, 3]
    root_ang_vel_w: Tensor  # [n, 3]
    joint_pos: Tensor  # [n, J]
    joint_vel: Tensor  # [n, J]


def rotate_z(v: Tensor, yaw: Tensor) -> Tensor:
    """Rotate vectors about world z. v: [..., 3]; yaw broadcastable to v[..., 0]."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    x, y = v[..., 0], v[..., 1]
    return torch.stack((c * x - s * y, s * x + c * y, v[..., 2]), dim=-1)


def compute_features(frames: Frames, layout: FeatureLayout) -> Tensor:
    """Window features anchored at the last frame's heading. Shape: [N, W, ...] -> [N, W, F]."""
    yaw = yaw_from_quat(frames.root_quat_w[:, -1])  # [N]
    neg = -yaw[:, None]  # heading-inverse, broadcast over W
    anchor = frames.root_pos_w[:, -1:, :]
    rel = rotate_z(frames.root_pos_w - anchor, neg)
    root_pos = torch.cat((rel[..., :2], frames.root_pos_w[..., 2:3]), dim=-1)
    root_rot = rot6d_from_quat(quat_mul(quat_from_yaw(neg), frames.root_quat_w))
    ee = rotate_z(frames.ee_pos_w - frames.root_pos_w.unsqueeze(-2), neg[..., None])
    lin = rotate_z(frames.root_lin_vel_w, neg)
    ang = rotate_z(frames.root_ang_vel_w, neg)
    return torch.cat((root_pos, root_rot, frames.joint_pos, ee.flatten(-2), lin, ang), dim=-1)


def features_to_frames(
    window: Tensor, layout: FeatureLayout, anchor_xy: Tensor, anchor_yaw: Tensor
) -> Frames:
    """Inverse of :func:`compute_features`: place a feature window in the world.

    The anchor (last) frame's root lands at ``anchor_xy`` with heading ``anchor_yaw``; root
    height is the feature's absolute height. Shapes: window [n, W, F], anchor_xy [n, 2],
    anchor_yaw [n] -> Frames with leading dims [n, W].
    """
    s = layout.slices
    yaw = anchor_yaw[:, None]
    rp = window[..., s["root_pos"]]
    xy = rotate_z(torch.cat((rp[..., :2], torch.zeros_like(rp[..., :1])), -1), yaw)[..., :2]
    root_pos = torch.cat((xy + anchor_xy[:, None, :], rp[..., 2:3]), dim=-1)
    quat = quat_mul(
        quat_from_yaw(yaw).expand(*rp.shape[:-1], 4), quat_from_rot6d(window[..., s["root_rot"]])
    )
    ee_l = window[..., s["ee_pos"]].unflatten(-1, (layout.num_ees, 3))
    ee_w = rotate_z(ee_l, yaw[..., None]) + root_pos.unsqueeze(-2)
    return Frames(
        root_pos_w=root_pos,
        root_quat_w=quat,
        root_lin_vel_w=rotate_z(window[..., s["root_lin_vel"]], yaw),
        root_ang_vel_w=rotate_z(window[..., s["root_ang_vel"]], yaw),
        ee_pos_w=ee_w,
        joint_pos=window[..., s["joint_pos"]],
    )


def finite_difference(x: Tensor, dt: float) -> Tensor:
    """Backward differences along dim 1 with the first value repeated. [n, W, D] -> [n, W, D]."""
    d = (x[:, 1:] - x[:, :-1]) / dt
    return torch.cat((d[:, :1], d), dim=1)


def init_state_from_frames(frames: Frames, dt: float) -> InitState:
    """The last frame of a [n, W] trajectory as a start state; joint velocity is the backward
    difference of the last two frames (root velocities come from the features)."""
    jv = (frames.joint_pos[:, -1] - frames.joint_pos[:, -2]) / dt
    return InitState(
        root_pos_w=frames.root_pos_w[:, -1],
        root_quat_w=frames.root_quat_w[:, -1],
        root_lin_vel_w=frames.root_lin_vel_w[:, -1],
        root_ang_vel_w=frames.root_ang_vel_w[:, -1],
        joint_pos=frames.joint_pos[:, -1],
        joint_vel=jv,
    )


def normalize(x: Tensor, q_low: Tensor, q_high: Tensor) -> Tensor:
    """Map features to [-1, 1] by their q_low/q_high quantiles (no clipping)."""
    return 2.0 * (x - q_low) / (q_high - q_low + 1e-8) - 1.0


def denormalize(x: Tensor, q_low: Tensor, q_high: Tensor) -> Tensor:
    return (x + 1.0) * 0.5 * (q_high - q_low + 1e-8) + q_low
