"""smp_gym: Gymnasium vector envs with score-matching motion priors on the Unitree G1.

Importing registers the ids below with Gymnasium (no mjlab/torch import happens here, and
nothing else: no import hook, no process-wide setting)::

    import gymnasium, smp_gym
    env = gymnasium.make_vec("SmpSteeringG1-v0", num_envs=4096)
"""

from smp_gym.registry import TASKS, register

__version__ = "0.1.0"

for _info in tuple(TASKS.values()):
    register(_info)


def __getattr__(name: str):
    # Lazy public API: ``smp_gym.check_vector_env`` without importing it (or numpy) at import time.
    if name == "check_vector_env":
        from smp_gym.check import check_vector_env

        return check_vector_env
    raise AttributeError(f"module 'smp_gym' has no attribute {name!r}")
