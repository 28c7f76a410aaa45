"""smp_gym: Gymnasium vector envs with score-matching motion priors on the Unitree G1.

Importing registers the ids below with Gymnasium (no mjlab/torch import happens here)::

    import gymnasium, smp_gym
    env = gymnasium.make_vec("SmpSteeringG1-v0", num_envs=4096)
"""

import gymnasium

from smp_gym import triton_guard
from smp_gym.registry import TASKS

triton_guard.install()  # triton must load before Mesa's LLVM (OSMesa/EGL); an import hook, no cost

__version__ = "0.1.0"

for _info in TASKS.values():
    if _info.id not in gymnasium.registry:
        gymnasium.register(
            id=_info.id,
            vector_entry_point="smp_gym.make:make_vec",
            kwargs={"task": _info.id},
        )
