"""Keep triton loadable next to Mesa's OpenGL (``MUJOCO_GL=osmesa``, or ``egl`` on Mesa).

PyOpenGL loads ``libOSMesa`` with ``RTLD_GLOBAL`` (and Mesa's EGL loads its llvmpipe driver when
a context is made), which puts Mesa's ``libLLVM`` into the process's global symbol scope.
triton's ``libtriton.so`` carries its own LLVM; loaded *after* Mesa, its LLVM symbols bind to
Mesa's copy and its static initializers segfault. That happens as soon as anything imports
triton: ``torch.optim.Adam`` does (via ``torch._dynamo``), and so does ``torch.compile``.
Loaded *before* Mesa, triton is safe. Measured on this project's CPU machine (Mesa 23, triton
3.8): ``import mujoco; import triton`` with ``MUJOCO_GL=osmesa`` exits with SIGSEGV, the reverse
order runs; the same for ``MUJOCO_GL=egl`` once a Mesa EGL context has rendered.

:func:`install` (stdlib only, no cost) is called where rendering is configured — by
``smp_gym.tools.render.configure_gl()`` (the examples, ``smp-gym play``, prior videos, the
viewer), by ``smp-gym``'s ``main()``, and (:func:`install_if_configured`, only when ``MUJOCO_GL``
already names ``osmesa``/``egl``) by ``smp_gym.envs`` and ``smp_gym.sim`` — never by ``import smp_gym``: a process that does not
configure rendering keeps its import system and its triton untouched. It registers an import
hook that imports triton just before ``mujoco`` or ``OpenGL`` is first imported, unless
``MUJOCO_GL`` then names a backend without Mesa (``glfw``, ``disable``). (mjlab sets
``MUJOCO_GL=egl`` when it is unset, so unset counts as egl.) If Mesa's GL is already in the
process when rendering is configured, preloading is too late: triton is then blocked for this
process (``sys.modules["triton"] = None``: ``import triton`` raises ModuleNotFoundError and
``importlib.util.find_spec`` returns None, which torch reads as "no triton"; CPU
``torch.compile`` does not need it) and one warning says how to keep it.

A script that exports ``MUJOCO_GL=osmesa`` itself and imports mujoco/mjlab calls
``configure_gl()`` (or :func:`install`) first, as it would to choose a headless backend.
:func:`triton_unsafe` tells library code (the prior's ``torch.compile``) whether importing triton
now would crash, from what the process has loaded, not from ``MUJOCO_GL``.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import warnings

_TRIGGERS = ("mujoco", "OpenGL")
_NO_MESA = ("glfw", "disable", "disabled", "off", "false", "0", "cgl", "wgl", "glx")


def mesa_possible() -> bool:
    """Whether the GL backend ``MUJOCO_GL`` names (now) may load Mesa's LLVM."""
    return os.environ.get("MUJOCO_GL", "").strip().lower() not in _NO_MESA


def mesa_loaded() -> bool:
    """Whether Mesa's GL is already in this process through PyOpenGL: its OSMesa platform (which
    dlopens libOSMesa RTLD_GLOBAL), or PyOpenGL plus a mapped libLLVM (Mesa's EGL llvmpipe). A
    library opened RTLD_LOCAL without PyOpenGL, as ``smp_gym.tools.render``'s probe does, is
    harmless and not counted."""
    if "OpenGL.platform.osmesa" in sys.modules or "mujoco.osmesa" in sys.modules:
        return True
    if "OpenGL" not in sys.modules:
        return False
    try:
        with open("/proc/self/maps") as f:
            return "libLLVM" in f.read()
    except OSError:  # not Linux: no Mesa llvmpipe to worry about
        return False


class _PreloadTriton(importlib.abc.MetaPathFinder):
    """Imports triton right before the first import of mujoco / PyOpenGL, then steps aside."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in _TRIGGERS:
            sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PreloadTriton)]
            if mesa_possible() and not mesa_loaded():
                try:
                    import triton  # noqa: F401
                except Exception:  # noqa: BLE001 - a broken triton must not break `import mujoco`
                    pass
        return None


def install() -> str:
    """Arrange for triton to load before Mesa (or block it when too late). Returns what it did:
    ``"off"`` (triton absent or already loaded, or mujoco already imported without Mesa),
    ``"hook"`` or ``"blocked"``. Idempotent; cheap (no import happens here)."""
    if "triton" in sys.modules:
        return "blocked" if sys.modules["triton"] is None else "off"
    if any(m in sys.modules for m in _TRIGGERS) and not mesa_loaded():
        return "off"  # mujoco/PyOpenGL are in without Mesa's LLVM; nothing to order
    if importlib.util.find_spec("triton") is None:
        return "off"
    if mesa_loaded():
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PreloadTriton)]
        sys.modules["triton"] = None  # Python's own idiom: `import triton` -> ModuleNotFoundError
        warnings.warn(
            "Mesa's OpenGL (MUJOCO_GL=osmesa or Mesa EGL) was loaded before rendering was "
            "configured: triton, which segfaults when loaded after Mesa, is disabled in this "
            "process, so torch runs without it. To keep triton, call "
            "smp_gym.tools.render.configure_gl() before importing mujoco/mjlab.",
            RuntimeWarning,
            stacklevel=2,
        )
        return "blocked"
    if not any(isinstance(f, _PreloadTriton) for f in sys.meta_path):
        sys.meta_path.insert(0, _PreloadTriton())
    return "hook"


def install_if_configured() -> str:
    """:func:`install` when the environment already names a Mesa-capable backend
    (``MUJOCO_GL=osmesa`` or ``egl``): the user configured rendering before building an env.
    Called where smp_gym first leads to mujoco (``smp_gym.envs``, ``smp_gym.sim``); otherwise
    ``"off"`` and nothing changes."""
    if os.environ.get("MUJOCO_GL", "").strip().lower() in ("osmesa", "egl"):
        return install()
    return "off"


def triton_unsafe() -> str | None:
    """Why importing triton now would crash this process (Mesa's LLVM is loaded and triton is
    not), or None when it is safe (triton already loaded or blocked, absent, or no Mesa)."""
    if "triton" in sys.modules or not mesa_loaded():
        return None
    if importlib.util.find_spec("triton") is None:
        return None
    return (
        "triton would load after Mesa's OpenGL (OSMesa / Mesa EGL), and their LLVM copies clash; "
        "call smp_gym.tools.render.configure_gl() (or import triton) before mujoco/mjlab"
    )
