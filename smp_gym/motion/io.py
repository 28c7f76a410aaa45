"""Motion files -> clips of world-frame kinematic frames at the layout's frame rate.

Two formats:
- LAFAN1-retargeting CSV: no header, one row per frame (default 30 fps), 36 columns:
  root xyz, root quaternion **xyzw**, then the 29 joint angles in ``layout.joint_names`` order.
  Resampled to ``layout.fps`` (lerp / slerp, endpoint excluded;
  docs/reference.md#motion-data-and-resampling); velocities by finite differences; end-effectors
  by forward kinematics on mjlab's G1 model.
- mjlab motion NPZ: ``fps, joint_pos, body_pos_w, body_quat_w, body_lin_vel_w,
  body_ang_vel_w``; bodies in ``body_names`` order. Used as stored when its fps matches,
  otherwise resampled like a CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from smp_gym.errors import MotionDataError
from smp_gym.motion.features import Frames
from smp_gym.motion.fk import ee_positions
from smp_gym.motion.layout import G1_BODY_NAMES, FeatureLayout
from smp_gym.motion.rotations import (
    axis_angle_from_quat,
    quat_conj,
    quat_mul,
    quat_normalize,
    quat_slerp,
)

NPZ_KEYS = ("fps", "joint_pos", "body_pos_w", "body_quat_w", "body_lin_vel_w", "body_ang_vel_w")
QUAT_NORM_TOL = 0.05


@dataclass
class Clip:
    """One motion clip at ``fps``. ``frames`` has leading dim [T]."""

    name: str
    fps: float
    frames: Frames
    source: str = ""

    @property
    def num_frames(self) -> int:
        return self.frames.root_pos_w.shape[0]


def _check_quats(q: np.ndarray, path: Path, what: str) -> np.ndarray:
    norms = np.linalg.norm(q, axis=-1)
    bad = np.flatnonzero(np.abs(norms - 1.0) > QUAT_NORM_TOL)
    if bad.size:
        raise MotionDataError(
            f"{path}: {what} quaternion of frame {bad[0]} has norm {norms[bad[0]]:.4f} "
            f"({bad.size} frames off by > {QUAT_NORM_TOL}). Quaternions must be unit length; check "
            "the column order (CSV: qx qy qz qw in columns 3-6) or renormalize the file."
        )
    return q / norms[:, None]


def _check_finite(arr: np.ndarray, path: Path, what: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise MotionDataError(
            f"{path}: {what} has NaN/inf values (first at frame {row}, {int(bad.sum())} values). "
            "Remove or repair those rows."
        )


def resample(
    root_pos: torch.Tensor,
    root_quat: torch.Tensor,
    joint_pos: torch.Tensor,
    fps_in: float,
    fps_out: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """mjlab ``MotionLoader`` resampling: lerp positions/joints, slerp the root quaternion,
    output times ``arange(0, duration, 1/fps_out)`` (endpoint excluded). All [T, ...] float32."""
    n = root_pos.shape[0]
    duration = (n - 1) / fps_in
    times = torch.arange(0, duration, 1.0 / fps_out, dtype=torch.float32)
    phase = times / duration
    i0 = (phase * (n - 1)).floor().long()
    i1 = torch.clamp(i0 + 1, max=n - 1)
    blend = phase * (n - 1) - i0
    b = blend[:, None]
    pos = root_pos[i0] * (1 - b) + root_pos[i1] * b
    jp = joint_pos[i0] * (1 - b) + joint_pos[i1] * b
    quat = quat_slerp(root_quat[i0], root_quat[i1], blend)
    return pos, quat, jp


def root_velocities(pos: torch.Tensor, quat: torch.Tensor, dt: float):
    """World-frame root velocities: central differences (one-sided at the ends) for the
    position; ``axis_angle(q[t+1] ⊗ q[t-1]^-1) / 2dt`` for the rotation, ends repeated."""
    lin = torch.gradient(pos, spacing=dt, dim=0)[0]
    q_rel = quat_mul(quat[2:], quat_conj(quat[:-2]))
    ang = axis_angle_from_quat(q_rel) / (2.0 * dt)
    ang = torch.cat((ang[:1], ang, ang[-1:]), dim=0)
    return lin, ang


def clip_from_root_and_joints(
    name: str,
    root_pos: np.ndarray,
    root_quat: np.ndarray,
    joint_pos: np.ndarray,
    fps_in: float,
    layout: FeatureLayout,
    source: str = "",
    model_xml: str | None = None,
) -> Clip:
    """Resample to ``layout.fps``, differentiate, and run FK for the end-effectors."""
    pos, quat, jp = (
        torch.as_tensor(a, dtype=torch.float32) for a in (root_pos, root_quat, joint_pos)
    )
    if abs(fps_in - layout.fps) > 1e-6:
        pos, quat, jp = resample(pos, quat, jp, fps_in, layout.fps)
    if pos.shape[0] < max(layout.window, 3):
        raise MotionDataError(
            f"{source or name}: {pos.shape[0]} frames at {layout.fps:g} fps, fewer than one "
            f"window of {layout.window} frames. Use a longer clip."
        )
    lin, ang = root_velocities(pos, quat, 1.0 / layout.fps)
    ee = ee_positions(
        pos.double().numpy(), quat.double().numpy(), jp.double().numpy(), layout, model_xml
    )
    frames = Frames(pos, quat, lin, ang, torch.as_tensor(ee, dtype=torch.float32), jp)
    return Clip(name=name, fps=layout.fps, frames=frames, source=source)


def load_csv(
    path: str | Path, layout: FeatureLayout, fps: float = 30.0, model_xml: str | None = None
) -> Clip:
    """Load a LAFAN1-retargeting CSV (root xyz, quat xyzw, joints) as a clip at layout.fps."""
    path = Path(path)
    ncols = 7 + layout.num_joints
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise MotionDataError(
            f"{path}: not a numeric comma-separated file ({err}). Expected {ncols} columns: "
            "root x y z, root qx qy qz qw, then one column per joint."
        ) from err
    if data.shape[1] != ncols:
        raise MotionDataError(
            f"{path}: has {data.shape[1]} columns; the LAFAN-retargeting layout for "
            f"{layout.num_joints} joints has {ncols} (root xyz, quat xyzw, joints)."
        )
    _check_finite(data, path, "the CSV")
    quat = _check_quats(data[:, [6, 3, 4, 5]], path, "root")  # xyzw -> wxyz
    return clip_from_root_and_joints(
        path.stem, data[:, :3], quat, data[:, 7:], fps, layout, str(path), model_xml
    )


def load_npz(
    path: str | Path,
    layout: FeatureLayout,
    body_names: tuple[str, ...] = G1_BODY_NAMES,
    model_xml: str | None = None,
) -> Clip:
    """Load an mjlab motion NPZ as a clip at ``layout.fps``."""
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - numpy raises several types for bad files
        raise MotionDataError(f"{path}: cannot be read as an .npz archive ({err}).") from err
    with npz:
        missing = [k for k in NPZ_KEYS if k not in npz.files]
        if missing:
            raise MotionDataError(
                f"{path}: missing keys {missing}; an mjlab motion NPZ has {list(NPZ_KEYS)} "
                f"(found {sorted(npz.files)})."
            )
        d = {k: np.asarray(npz[k]) for k in NPZ_KEYS}
    fps = float(np.ravel(d["fps"])[0])
    lengths = {k: d[k].shape[0] for k in NPZ_KEYS[1:]}
    if len(set(lengths.values())) != 1:
        raise MotionDataError(f"{path}: arrays disagree on the number of frames: {lengths}.")
    nb = d["body_pos_w"].shape[1]
    if nb != len(body_names) or d["joint_pos"].shape[1] != layout.num_joints:
        raise MotionDataError(
            f"{path}: has {nb} bodies and {d['joint_pos'].shape[1]} joints; expected "
            f"{len(body_names)} bodies and {layout.num_joints} joints ({layout.robot})."
        )
    for k in NPZ_KEYS[1:]:
        _check_finite(d[k], path, k)
    if not np.isfinite(fps) or fps <= 0:
        raise MotionDataError(f"{path}: fps is {fps}; must be a positive number.")
    root = body_names.index(layout.root_body)
    quat = _check_quats(d["body_quat_w"][:, root], path, "root")
    if abs(fps - layout.fps) > 1e-6:  # resample like a CSV (FK recomputes the end-effectors)
        return clip_from_root_and_joints(
            path.stem,
            d["body_pos_w"][:, root],
            quat,
            d["joint_pos"],
            fps,
            layout,
            str(path),
            model_xml,
        )
    if d["joint_pos"].shape[0] < layout.window:
        raise MotionDataError(
            f"{path}: {d['joint_pos'].shape[0]} frames, fewer than one window of {layout.window}."
        )
    try:
        ee_idx = [body_names.index(n) for n in layout.ee_body_names]
    except ValueError as err:
        raise MotionDataError(
            f"{path}: an end-effector of the layout is not a body: {err}"
        ) from err
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)  # noqa: E731
    frames = Frames(
        root_pos_w=t(d["body_pos_w"][:, root]),
        root_quat_w=quat_normalize(t(quat)),
        root_lin_vel_w=t(d["body_lin_vel_w"][:, root]),
        root_ang_vel_w=t(d["body_ang_vel_w"][:, root]),
        ee_pos_w=t(d["body_pos_w"][:, ee_idx]),
        joint_pos=t(d["joint_pos"]),
    )
    return Clip(name=path.stem, fps=fps, frames=frames, source=str(path))


def find_motion_files(paths: str | Path | list) -> list[Path]:
    """All ``*.npz`` / ``*.csv`` files under the given files or folders (recursive, sorted)."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    found: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found += sorted(p for p in item.rglob("*") if p.suffix.lower() in (".npz", ".csv"))
        elif item.is_file():
            found.append(item)
        else:
            raise MotionDataError(f"motions: {item} does not exist.")
    if not found:
        raise MotionDataError(
            f"motions: no *.npz or *.csv files under {[str(p) for p in items]}. Point --motions at "
            "a folder of mjlab motion NPZ or LAFAN-layout CSV files (smp-gym data fetch gets some)."
        )
    return found


def load_motions(
    paths: str | Path | list,
    layout: FeatureLayout,
    csv_fps: float = 30.0,
    model_xml: str | None = None,
    progress: bool = False,
) -> list[Clip]:
    """Load every motion file under ``paths`` (see :func:`find_motion_files`)."""
    files = find_motion_files(paths)
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="loading motions", unit="clip")
    clips = []
    for f in files:
        if f.suffix.lower() == ".csv":
            clips.append(load_csv(f, layout, csv_fps, model_xml))
        else:
            clips.append(load_npz(f, layout, model_xml=model_xml))
    return clips
