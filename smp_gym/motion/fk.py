"""Forward kinematics of end-effector bodies with plain ``mujoco`` (no mjlab import).

The G1 model is mjlab's own MJCF, located through the installed package's files without
executing ``import mjlab``.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from smp_gym.errors import MotionDataError
from smp_gym.motion.layout import FeatureLayout

_ROBOT_XML = {"unitree_g1": ("asset_zoo", "robots", "unitree_g1", "xmls", "g1.xml")}


def robot_xml(robot: str) -> Path:
    """Path of a robot's MJCF shipped with mjlab (found without importing mjlab)."""
    if robot not in _ROBOT_XML:
        raise MotionDataError(
            f"layout.robot: received {robot!r}; forward kinematics knows {sorted(_ROBOT_XML)}. "
            "Pass model_xml=... to use another robot's MJCF."
        )
    spec = importlib.util.find_spec("mjlab")
    if spec is None or not spec.submodule_search_locations:
        raise MotionDataError("Forward kinematics needs the mjlab package (pip install mjlab).")
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*_ROBOT_XML[robot])
    if not path.exists():
        raise MotionDataError(f"mjlab's {robot} model is missing at {path}; reinstall mjlab.")
    return path


@lru_cache(maxsize=4)
def _load_model(xml: str):
    import mujoco

    return mujoco.MjModel.from_xml_path(xml)


def ee_positions(
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    layout: FeatureLayout,
    model_xml: str | Path | None = None,
) -> np.ndarray:
    """World positions of ``layout.ee_body_names`` (body frame origins) for each frame.

    Args:
        root_pos: [T, 3] root position (world).
        root_quat: [T, 4] root orientation, wxyz.
        joint_pos: [T, J] joint angles in ``layout.joint_names`` order.
    Returns:
        [T, E, 3] float64.
    """
    import mujoco

    xml = str(model_xml or robot_xml(layout.robot))
    model = _load_model(xml)
    data = mujoco.MjData(model)
    free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    if len(free) != 1:
        raise MotionDataError(f"{xml}: expected one free joint on the root, found {len(free)}.")
    free_adr = model.jnt_qposadr[free[0]]
    qadr = []
    for name in layout.joint_names:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
        if jid < 0:
            raise MotionDataError(f"layout joint {name!r} is not in the robot model {xml}.")
        qadr.append(model.jnt_qposadr[jid])
    bids = []
    for name in layout.ee_body_names:
        bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, name)
        if bid < 0:
            raise MotionDataError(f"layout end-effector {name!r} is not a body of {xml}.")
        bids.append(bid)
    qpos = np.tile(model.qpos0, (len(root_pos), 1))
    qpos[:, free_adr : free_adr + 3] = root_pos
    qpos[:, free_adr + 3 : free_adr + 7] = root_quat
    qpos[:, qadr] = joint_pos
    out = np.empty((len(root_pos), len(bids), 3))
    for t in range(len(root_pos)):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        out[t] = data.xpos[bids]
    return out
