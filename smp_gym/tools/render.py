"""Offscreen rendering setup and video writing.

MuJoCo picks its OpenGL backend from ``MUJOCO_GL`` when it is first imported, so scripts call
:func:`configure_gl` before mujoco/mjlab is imported. It sets ``egl`` when an NVIDIA device and
libEGL are present, ``osmesa`` when libOSMesa can be loaded, and otherwise ``disable`` (returning
None): mujoco then loads no GL library at all (left unset, mjlab would default it to ``egl``)
and ``smp-gym play`` draws a stick figure (see :data:`NO_GL_HINT`). An explicit ``MUJOCO_GL``
always wins.

``SMP_GYM_GL_HIDE`` (comma-separated: ``osmesa``, ``egl``) makes the detection report those
backends missing, as on a machine without the library; tests use it.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

import numpy as np

from smp_gym import triton_guard

NO_GL_HINT = (
    "no offscreen OpenGL backend found, so the clip is a stick figure. For MuJoCo's "
    "rendering install OSMesa (CPU; Debian/Ubuntu: apt-get install libosmesa6) or run "
    "with MUJOCO_GL=egl on an NVIDIA GPU machine."
)
HIDE_ENV = "SMP_GYM_GL_HIDE"
_LIBS = {"osmesa": "libOSMesa.so", "egl": "libEGL.so"}


def _hidden() -> set[str]:
    return {b.strip().lower() for b in os.environ.get(HIDE_ENV, "").split(",") if b.strip()}


def _loadable(base: str) -> bool:
    """Whether the dynamic loader can open ``base`` (or a versioned ``base.N``), the names
    PyOpenGL tries. Opened RTLD_LOCAL: nothing enters the global symbol scope (unlike PyOpenGL's
    RTLD_GLOBAL), so this probe does not cause the clash ``smp_gym.triton_guard`` is about."""
    for name in [base] + [f"{base}.{i}" for i in range(9, -1, -1)]:
        try:
            ctypes.CDLL(name, mode=ctypes.RTLD_LOCAL)
            return True
        except OSError:
            continue
    return False


def gl_available(backend: str) -> bool:
    """``egl``: an NVIDIA device node and libEGL; ``osmesa``: libOSMesa loads."""
    if backend in _hidden():
        return False
    if backend == "egl":
        nvidia = os.path.exists("/dev/nvidia0") or os.path.exists("/dev/nvidiactl")
        return nvidia and _loadable(_LIBS["egl"])
    if backend == "osmesa":
        return _loadable(_LIBS["osmesa"])
    raise ValueError(f"backend: received {backend!r}; expected 'egl' or 'osmesa'.")


def configure_gl() -> str | None:
    """Choose ``MUJOCO_GL`` (and ``PYOPENGL_PLATFORM``) for headless rendering unless already set.

    Returns the backend in use, or None when none was found: ``MUJOCO_GL=disable`` then, so
    importing mujoco/mjlab never touches a missing library. With a backend, it also installs
    :mod:`smp_gym.triton_guard` (triton loads before Mesa's GL): this is where a process asks for
    rendering, so this is where the guard goes (``import smp_gym`` installs nothing)."""
    if "MUJOCO_GL" not in os.environ:
        backend = next((b for b in ("egl", "osmesa") if gl_available(b)), None)
        if backend is None:
            os.environ["MUJOCO_GL"] = "disable"
            return None
        os.environ["MUJOCO_GL"] = backend
    if offscreen_backend() is None:
        return None
    if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    triton_guard.install()
    return os.environ["MUJOCO_GL"]


def offscreen_backend() -> str | None:
    """The backend MuJoCo will render with in this process: ``MUJOCO_GL`` when it names one,
    ``glfw`` when a display is available, else None (no offscreen rendering: stick figure)."""
    gl = os.environ.get("MUJOCO_GL", "").strip().lower()
    if gl in ("disable", "disabled", "off", "false", "0"):
        return None
    if gl and gl not in ("enable", "enabled", "on", "true", "1", "glfw"):
        return gl
    return "glfw" if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") else None


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
    return (
        f"offscreen rendering failed ({type(err).__name__}: {err}). Set MUJOCO_GL before mujoco is "
        "imported: 'egl' on an NVIDIA GPU machine, 'osmesa' on a CPU one (apt-get install libosmesa6)."
    )
