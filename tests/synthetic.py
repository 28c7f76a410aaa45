"""Procedural G1 motion for tests that must not depend on downloaded data.

A periodic gait: the root advances at a steady speed with a small bounce and heading drift,
legs swing in anti-phase, arms counter-swing. Generated at 30 fps like a LAFAN CSV, then run
through the real pipeline (resampling, finite differences, forward kinematics).
"""

from __future__ import annotations

import numpy as np

from smp_gym.motion.io import Clip, clip_from_root_and_joints
from smp_gym.motion.layout import DEFAULT_LAYOUT, FeatureLayout


def gait_arrays(
    seconds: float = 4.0,
    speed: float = 1.0,
    cadence: float = 1.8,
    phase: float = 0.0,
    turn_rate: float = 0.0,
    fps: float = 30.0,
    layout: FeatureLayout = DEFAULT_LAYOUT,
):
    t = np.arange(int(seconds * fps)) / fps
    w = 2 * np.pi * cadence * t + phase
    yaw = turn_rate * t
    x = np.cumsum(speed * np.cos(yaw)) / fps
    y = np.cumsum(speed * np.sin(yaw)) / fps
    z = 0.75 + 0.015 * np.cos(2 * w)
    root_pos = np.stack([x, y, z], axis=1)
    root_quat = np.stack([np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)], axis=1)
    amp = 0.25 + 0.15 * speed
    joints = np.zeros((len(t), layout.num_joints))
    idx = {n: i for i, n in enumerate(layout.joint_names)}
    for side, sgn in (("left", 1.0), ("right", -1.0)):
        s = sgn * np.sin(w)
        joints[:, idx[f"{side}_hip_pitch_joint"]] = -0.3 - amp * s
        joints[:, idx[f"{side}_knee_joint"]] = 0.6 + 0.5 * amp * np.clip(
            np.sin(w + sgn * 0 + (0 if sgn > 0 else np.pi) + 0.8), 0, None
        )
        joints[:, idx[f"{side}_ankle_pitch_joint"]] = -0.3 + 0.3 * amp * s
        joints[:, idx[f"{side}_shoulder_pitch_joint"]] = 0.2 + 0.6 * amp * s
        joints[:, idx[f"{side}_elbow_joint"]] = 0.6 + 0.1 * np.cos(w)
        joints[:, idx[f"{side}_shoulder_roll_joint"]] = 0.2 * sgn
    joints[:, idx["waist_yaw_joint"]] = 0.05 * np.sin(w)
    return root_pos, root_quat, joints


def gait_clip(name: str, fps_in: float = 30.0, **kwargs) -> Clip:
    root_pos, root_quat, joints = gait_arrays(fps=fps_in, **kwargs)
    return clip_from_root_and_joints(name, root_pos, root_quat, joints, fps_in, DEFAULT_LAYOUT)


def gait_clips() -> list[Clip]:
    """Six clips: three speeds x two phases/turn rates."""
    specs = [
        ("walk_a", 0.8, 1.6, 0.0, 0.0),
        ("walk_b", 1.0, 1.7, 1.0, 0.2),
        ("jog_a", 1.8, 2.3, 0.5, 0.0),
        ("jog_b", 2.0, 2.4, 2.0, -0.3),
        ("run_a", 2.8, 2.8, 0.3, 0.1),
        ("walk_c", 1.2, 1.8, 2.5, -0.1),
    ]
    return [gait_clip(n, speed=s, cadence=c, phase=p, turn_rate=r) for n, s, c, p, r in specs]
