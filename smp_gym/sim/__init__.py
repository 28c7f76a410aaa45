"""The only package (with ``smp_gym.envs``) that imports mjlab.

Warp prints a line per kernel module it loads; mjlab's ``MJLAB_WARP_QUIET`` switch predates
warp 1.19's ``log_level``. We default it to on and honour it through ``log_level``; set
``MJLAB_WARP_QUIET=0`` to see warp's messages (e.g. the ~1 minute of kernel compilation on a
machine's first run).
"""

import os

from smp_gym import triton_guard

# MUJOCO_GL=osmesa/egl already set: triton must load before mujoco pulls in Mesa's LLVM, or the
# first torch.compile / Adam segfaults (smp_gym/triton_guard.py). `import smp_gym` stays hook-free.
triton_guard.install_if_configured()

os.environ.setdefault("MJLAB_WARP_QUIET", "1")
if os.environ["MJLAB_WARP_QUIET"].lower() in ("1", "true", "yes"):
    import warp

    warp.config.log_level = max(warp.config.log_level, warp.LOG_WARNING)
