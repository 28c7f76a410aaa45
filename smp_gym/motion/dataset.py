"""Windows of motion features cut from clips, left/right mirroring, and q_low/q_high stats."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from smp_gym.errors import MotionDataError
from smp_gym.motion.features import Frames, compute_features
from smp_gym.motion.io import Clip
from smp_gym.motion.layout import FeatureLayout


@dataclass
class WindowSet:
    """Feature windows with the clip each came from. windows: [N, W, F] float32."""

    windows: Tensor
    clip_index: Tensor  # [N] long, index into clip_names
    clip_names: list[str]
    layout: FeatureLayout
    stride: int = 1
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.windows.shape[0]

    def subset(self, clip_names: list[str]) -> WindowSet:
        """Windows of the named clips only (e.g. a held-out split)."""
        unknown = sorted(set(clip_names) - set(self.clip_names))
        if unknown:
            raise MotionDataError(f"clips {unknown} are not in this set; it has {self.clip_names}.")
        keep_ids = torch.tensor([self.clip_names.index(n) for n in clip_names], dtype=torch.long)
        mask = torch.isin(self.clip_index, keep_ids)
        return WindowSet(
            self.windows[mask],
            self.clip_index[mask],
            self.clip_names,
            self.layout,
            self.stride,
            dict(self.meta),
        )


def clip_windows(clip: Clip, layout: FeatureLayout, stride: int = 1) -> Tensor:
    """All windows of a clip, ``starts = 0, stride, ...``. Shape: [n, W, F]."""
    t, w = clip.num_frames, layout.window
    if t < w:
        raise MotionDataError(f"{clip.source or clip.name}: {t} frames < one window of {w}.")
    starts = torch.arange(0, t - w + 1, stride)
    idx = starts[:, None] + torch.arange(w)[None, :]
    return compute_features(clip.frames[idx], layout)


def mirror_frames(frames: Frames, layout: FeatureLayout) -> Frames:
    """Reflect a motion through the world x-z plane, swapping left and right.

    Joints named ``left_*``/``right_*`` swap; roll and yaw joints change sign (G1 convention).
    """
    jn, en = layout.joint_names, layout.ee_body_names

    def partner(name: str, names: tuple[str, ...]) -> int:
        other = name.replace("left_", "@").replace("right_", "left_").replace("@", "right_")
        if other not in names:
            raise MotionDataError(f"mirror: {name!r} has no left/right partner {other!r}.")
        return names.index(other)

    jperm = [partner(n, jn) for n in jn]
    jsign = torch.tensor([-1.0 if ("_roll_" in n or "_yaw_" in n) else 1.0 for n in jn])
    eperm = [partner(n, en) for n in en]
    flip_y = torch.tensor([1.0, -1.0, 1.0])
    return Frames(
        root_pos_w=frames.root_pos_w * flip_y,
        root_quat_w=frames.root_quat_w * torch.tensor([1.0, -1.0, 1.0, -1.0]),
        root_lin_vel_w=frames.root_lin_vel_w * flip_y,
        root_ang_vel_w=frames.root_ang_vel_w * -flip_y,
        ee_pos_w=frames.ee_pos_w[..., eperm, :] * flip_y,
        joint_pos=frames.joint_pos[..., jperm] * jsign,
    )


def mirror_clip(clip: Clip, layout: FeatureLayout) -> Clip:
    return Clip(f"{clip.name}_mirror", clip.fps, mirror_frames(clip.frames, layout), clip.source)


def build_windows(
    clips: list[Clip], layout: FeatureLayout, stride: int = 1, mirror: bool = False
) -> WindowSet:
    """Cut every clip (and its mirror image when ``mirror``) into feature windows."""
    if stride < 1:
        raise MotionDataError(f"stride: received {stride}; must be >= 1.")
    if not clips:
        raise MotionDataError("build_windows: no clips given.")
    parts, index, names = [], [], []
    for clip in clips:
        variants = [clip, mirror_clip(clip, layout)] if mirror else [clip]
        for c in variants:
            wins = clip_windows(c, layout, stride)
            index.append(torch.full((wins.shape[0],), len(names), dtype=torch.long))
            names.append(c.name)
            parts.append(wins)
    return WindowSet(torch.cat(parts), torch.cat(index), names, layout, stride, {"mirror": mirror})


MIN_RANGE = 0.05
"""Default floor of a feature's q_high - q_low (m, rad, m/s, rad/s or tan-norm units): a nearly
constant feature in narrow training data would otherwise map a policy's small deviation to a huge
normalized value (and an SDS error far outside anything the prior saw)."""


def norm_stats(
    windows: Tensor, q_low: float = 0.01, q_high: float = 0.99, min_range: float = MIN_RANGE
):
    """Per-dim quantiles over every frame of every window (numpy's linear interpolation).

    Degenerate dims (q_high - q_low < 1e-6) get q_high = q_low + 1 (the reference's rule); other
    dims narrower than ``min_range`` are widened to it about their midpoint (see
    :func:`narrow_dims`). Returns float32 (F,) x 2.
    """
    if not 0.0 <= q_low < q_high <= 1.0:
        raise MotionDataError(f"norm_stats: need 0 <= q_low < q_high <= 1, got {q_low}, {q_high}.")
    if min_range < 0:
        raise MotionDataError(f"norm_stats.min_range: received {min_range}; need >= 0.")
    flat = windows.reshape(-1, windows.shape[-1]).double().numpy()
    lo = np.percentile(flat, 100.0 * q_low, axis=0)
    hi = np.percentile(flat, 100.0 * q_high, axis=0)
    hi = np.where(hi - lo < 1e-6, lo + 1.0, hi)
    pad = np.maximum(min_range - (hi - lo), 0.0) / 2.0
    lo, hi = lo - pad, hi + pad
    return torch.from_numpy(lo.astype(np.float32)), torch.from_numpy(hi.astype(np.float32))


def narrow_dims(q_low: Tensor, q_high: Tensor, min_range: float = MIN_RANGE) -> list[int]:
    """Feature dims whose range sits at the ``min_range`` floor (widened by :func:`norm_stats`)."""
    return [i for i, r in enumerate((q_high - q_low).tolist()) if r <= min_range * (1 + 1e-4)]


def save_windows(path: str | Path, ws: WindowSet, q_low: Tensor, q_high: Tensor) -> Path:
    """Write windows + stats as one ``.npz`` (plain arrays and a JSON layout, no pickles)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        windows=ws.windows.numpy(),
        clip_index=ws.clip_index.numpy(),
        clip_names=np.array(ws.clip_names),
        q_low=q_low.numpy(),
        q_high=q_high.numpy(),
        stride=np.int32(ws.stride),
        layout=np.array(json.dumps(ws.layout.to_dict())),
        meta=np.array(json.dumps(ws.meta)),
    )
    tmp.replace(path)
    return path


def load_windows(path: str | Path) -> tuple[WindowSet, Tensor, Tensor]:
    """Inverse of :func:`save_windows`. Returns (windows, q_low, q_high)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as d:
            layout = FeatureLayout.from_dict(json.loads(str(d["layout"])))
            ws = WindowSet(
                torch.from_numpy(d["windows"]),
                torch.from_numpy(d["clip_index"]).long(),
                [str(n) for n in d["clip_names"]],
                layout,
                int(d["stride"]),
                json.loads(str(d["meta"])),
            )
            return ws, torch.from_numpy(d["q_low"]), torch.from_numpy(d["q_high"])
    except (KeyError, ValueError, OSError) as err:
        raise MotionDataError(
            f"{path}: not a feature file written by `smp-gym data features` ({err})."
        ) from err
