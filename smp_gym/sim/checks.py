"""Does a prior's FeatureLayout describe this simulated robot? (MimicKit-style guard.)"""

from __future__ import annotations

from smp_gym.errors import PriorMismatchError
from smp_gym.motion.layout import FeatureLayout


def layout_mismatches(
    layout: FeatureLayout,
    *,
    joint_names,
    body_names,
    control_dt: float,
    feature_dim: int | None = None,
) -> list[str]:
    """Every way ``layout`` disagrees with the simulator (empty when it matches)."""
    out = []
    sim_joints, lay_joints = tuple(joint_names), tuple(layout.joint_names)
    if sim_joints != lay_joints:
        if set(sim_joints) == set(lay_joints):
            first = next(
                i for i, (a, b) in enumerate(zip(sim_joints, lay_joints, strict=True)) if a != b
            )
            out.append(
                f"joint order differs from position {first}: prior has {lay_joints[first]!r}, "
                f"sim has {sim_joints[first]!r}"
            )
        else:
            missing = sorted(set(lay_joints) - set(sim_joints))
            extra = sorted(set(sim_joints) - set(lay_joints))
            out.append(
                f"joint names differ: prior-only {missing}, sim-only {extra} "
                f"({len(lay_joints)} vs {len(sim_joints)} joints)"
            )
    unknown = [n for n in layout.ee_body_names if n not in body_names]
    if unknown:
        out.append(f"end-effector bodies {unknown} are not bodies of the simulated robot")
    if layout.root_body not in body_names:
        out.append(f"root body {layout.root_body!r} is not a body of the simulated robot")
    if abs(layout.dt - control_dt) > 1e-6:
        out.append(
            f"frame period {layout.dt:.4f} s ({layout.fps:g} fps) != control dt {control_dt:.4f} s"
        )
    if feature_dim is not None and feature_dim != layout.feature_dim:
        out.append(f"feature dim {feature_dim} != {layout.feature_dim} implied by the layout")
    return out


def check_prior_matches_sim(
    layout: FeatureLayout,
    env,
    *,
    feature_dim: int | None = None,
    prior_name: str = "prior",
    entity: str = "robot",
) -> None:
    """Raise :class:`PriorMismatchError` listing each mismatch between layout and mjlab env."""
    robot = env.scene[entity]
    problems = layout_mismatches(
        layout,
        joint_names=robot.joint_names,
        body_names=robot.body_names,
        control_dt=env.step_dt,
        feature_dim=feature_dim,
    )
    if problems:
        raise PriorMismatchError(problems, prior=prior_name)
