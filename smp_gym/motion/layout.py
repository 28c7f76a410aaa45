"""FeatureLayout: every fact about the per-frame motion feature, stored with each prior.

The default is the reference reproduction's layout (59 dims/frame, W=10 at 50 fps, 5
end-effectors), so its priors stay interchangeable with ours.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from smp_gym.errors import ConfigError

# mjlab 1.6 G1 entity order (pinned to the simulator by tests/sim/test_layout_matches_mjlab.py).
G1_JOINT_NAMES: tuple[str, ...] = (
    "left_hip_pitch_joint",
    "left_hip_roll_joint",
    "left_hip_yaw_joint",
    "left_knee_joint",
    "left_ankle_pitch_joint",
    "left_ankle_roll_joint",
    "right_hip_pitch_joint",
    "right_hip_roll_joint",
    "right_hip_yaw_joint",
    "right_knee_joint",
    "right_ankle_pitch_joint",
    "right_ankle_roll_joint",
    "waist_yaw_joint",
    "waist_roll_joint",
    "waist_pitch_joint",
    "left_shoulder_pitch_joint",
    "left_shoulder_roll_joint",
    "left_shoulder_yaw_joint",
    "left_elbow_joint",
    "left_wrist_roll_joint",
    "left_wrist_pitch_joint",
    "left_wrist_yaw_joint",
    "right_shoulder_pitch_joint",
    "right_shoulder_roll_joint",
    "right_shoulder_yaw_joint",
    "right_elbow_joint",
    "right_wrist_roll_joint",
    "right_wrist_pitch_joint",
    "right_wrist_yaw_joint",
)

# Body order of mjlab motion NPZ files (``body_pos_w[:, i]``), world body excluded.
G1_BODY_NAMES: tuple[str, ...] = (
    "pelvis",
    "left_hip_pitch_link",
    "left_hip_roll_link",
    "left_hip_yaw_link",
    "left_knee_link",
    "left_ankle_pitch_link",
    "left_ankle_roll_link",
    "right_hip_pitch_link",
    "right_hip_roll_link",
    "right_hip_yaw_link",
    "right_knee_link",
    "right_ankle_pitch_link",
    "right_ankle_roll_link",
    "waist_yaw_link",
    "waist_roll_link",
    "torso_link",
    "left_shoulder_pitch_link",
    "left_shoulder_roll_link",
    "left_shoulder_yaw_link",
    "left_elbow_link",
    "left_wrist_roll_link",
    "left_wrist_pitch_link",
    "left_wrist_yaw_link",
    "right_shoulder_pitch_link",
    "right_shoulder_roll_link",
    "right_shoulder_yaw_link",
    "right_elbow_link",
    "right_wrist_roll_link",
    "right_wrist_pitch_link",
    "right_wrist_yaw_link",
)

G1_EE_BODY_NAMES: tuple[str, ...] = (
    "left_ankle_roll_link",
    "right_ankle_roll_link",
    "torso_link",
    "left_wrist_yaw_link",
    "right_wrist_yaw_link",
)

# Per-frame feature parts, in order, with their width (E = number of end-effectors, J = joints).
PART_NAMES: tuple[str, ...] = (
    "root_pos",
    "root_rot",
    "joint_pos",
    "ee_pos",
    "root_lin_vel",
    "root_ang_vel",
)


@dataclass(frozen=True, kw_only=True)
class FeatureLayout:
    """What one feature frame holds and how windows are cut.

    Shape of a window: ``[window, feature_dim]``; see ``slices`` for the parts.
    """

    joint_names: tuple[str, ...] = G1_JOINT_NAMES
    """Joint names in feature order (must equal the simulator's entity joint order)."""
    ee_body_names: tuple[str, ...] = G1_EE_BODY_NAMES
    """End-effector bodies whose positions (relative to the root) are features, in order."""
    root_body: str = "pelvis"
    """The floating-base body the features are anchored to."""
    window: int = 10
    """Frames per window; the last frame is the anchor."""
    fps: float = 50.0
    """Frame rate of the window; must equal the env's control rate (1 / control dt)."""
    robot: str = "unitree_g1"
    """Robot the layout describes (informational, checked against the sim)."""

    def __post_init__(self) -> None:
        if self.window < 2:
            raise ConfigError(f"FeatureLayout.window: received {self.window}; need >= 2 frames.")
        if self.fps <= 0:
            raise ConfigError(f"FeatureLayout.fps: received {self.fps}; must be > 0.")
        if len(self.joint_names) == 0 or len(set(self.joint_names)) != len(self.joint_names):
            raise ConfigError(
                "FeatureLayout.joint_names: must be a non-empty tuple of unique names."
            )
        if len(set(self.ee_body_names)) != len(self.ee_body_names):
            raise ConfigError("FeatureLayout.ee_body_names: names must be unique.")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def num_ees(self) -> int:
        return len(self.ee_body_names)

    @property
    def feature_dim(self) -> int:
        return 15 + self.num_joints + 3 * self.num_ees

    @property
    def dt(self) -> float:
        return 1.0 / self.fps

    @property
    def slices(self) -> dict[str, slice]:
        """Feature slices by part name: root_pos, root_rot, joint_pos, ee_pos, root_lin_vel,
        root_ang_vel."""
        widths = (3, 6, self.num_joints, 3 * self.num_ees, 3, 3)
        start, out = 0, {}
        for name, width in zip(PART_NAMES, widths, strict=True):
            out[name] = slice(start, start + width)
            start += width
        return out

    @property
    def feature_names(self) -> tuple[str, ...]:
        """A name per feature dim, e.g. ``root_pos.z``, ``joint_pos.left_knee_joint``,
        ``ee_pos.torso_link.x``, ``root_rot.c2z`` (tan-norm columns: c0 = x axis, c2 = z axis)."""
        xyz = ("x", "y", "z")
        return (
            *(f"root_pos.{a}" for a in xyz),
            *(f"root_rot.{c}{a}" for c in ("c0", "c2") for a in xyz),
            *(f"joint_pos.{j}" for j in self.joint_names),
            *(f"ee_pos.{e}.{a}" for e in self.ee_body_names for a in xyz),
            *(f"root_lin_vel.{a}" for a in xyz),
            *(f"root_ang_vel.{a}" for a in xyz),
        )

    def to_dict(self) -> dict:
        d = asdict(self)
        d["feature_dim"] = self.feature_dim
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FeatureLayout:
        known = {"joint_names", "ee_body_names", "root_body", "window", "fps", "robot"}
        kwargs = {k: v for k, v in d.items() if k in known}
        for key in ("joint_names", "ee_body_names"):
            if key in kwargs:
                kwargs[key] = tuple(kwargs[key])
        layout = cls(**kwargs)
        if "feature_dim" in d and int(d["feature_dim"]) != layout.feature_dim:
            raise ConfigError(
                f"FeatureLayout.feature_dim: stored {d['feature_dim']} but the names imply "
                f"{layout.feature_dim}; the stored layout is inconsistent."
            )
        return layout


DEFAULT_LAYOUT = FeatureLayout()
