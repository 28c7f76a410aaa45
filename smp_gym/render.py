"""Offscreen rendering setup and video writing.

MuJoCo picks its OpenGL backend from ``MUJOCO_GL`` when it is first imported, so scripts call
:func:`configure_gl` before importing mujoco/mjlab: ``egl`` with an NVIDIA GPU, else ``osmesa``
(Debian/Ubuntu: ``apt-get install libosmesa6``). An explicit ``MUJOCO_GL`` always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def configure_gl() -> str:
    """Set ``MUJOCO_GL`` (and ``PYOPENGL_PLATFORM``) for headless rendering unless already set."""
    if "MUJOCO_GL" not in os.environ:
        gpu = os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl")
        os.environ["MUJOCO_GL"] = "egl" if gpu else "osmesa"
    if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    if os.environ["MUJOCO_GL"] == "osmesa":
        preload_triton()
    return os.environ["MUJOCO_GL"]


def preload_triton() -> None:
    """Import triton (if installed) before mujoco loads OSMesa: Mesa's LLVM and triton's clash,
    and loading triton second (as ``torch.compile`` does) segfaults. Loading it first is safe."""
    import importlib.util
    import sys

    if "mujoco" not in sys.modules and importlib.util.find_spec("triton") is not None:
        import triton  # noqa: F401


def write_video(frames, path: str | Path, fps: float = 50.0) -> Path:
    """Write RGB frames [T, H, W, 3] (uint8) as .gif or .mp4 (by suffix)."""
    import imageio.v2 as imageio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [np.asarray(f, dtype=np.uint8) for f in frames]
    if path.suffix.lower() == ".gif":
        imageio.mimsave(path, frames, duration=1000.0 / fps, loop=0)
    else:
        imageio.mimsave(path, frames, fps=fps, macro_block_size=1)
    return path


def render_failure_hint(err: Exception) -> str:
    return (f"offscreen rendering failed ({err}). Set MUJOCO_GL before importing smp_gym: 'egl' on a "
            "GPU machine, 'osmesa' on a CPU one (apt-get install libosmesa6).")
