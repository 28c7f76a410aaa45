"""The stick-figure renderer moved to :mod:`smp_gym.sim.skeleton` (the env falls back on it)."""

from smp_gym.sim.skeleton import SkeletonRenderer

__all__ = ["SkeletonRenderer"]
