"""smp_gym: Gymnasium vector envs with score-matching motion priors on the Unitree G1.

Importing registers the ids below with Gymnasium (no mjlab/torch import happens here)::

    import gymnasium, smp_gym
    env = gymnasium.make_vec("SmpSteeringG1-v0", num_envs=4096)
"""

from smp_gym import triton_guard
from smp_gym.registry import TASKS, register

triton_guard.install()  # triton must load before Mesa's LLVM (OSMesa/EGL); an import hook, no cost

__version__ = "0.1.0"

for _info in tuple(TASKS.values()):
    register(_info)


def __getattr__(name: str):
    # Lazy public API: ``smp_gym.check_vector_env`` without importing it (or numpy) at import time.
    if name == "check_vector_env":
        from smp_gym.check import check_vector_env

        return check_vector_env
    raise AttributeError(f"module 'smp_gym' has no attribute {name!r}")
