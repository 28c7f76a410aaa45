"""Exceptions raised by smp_gym.

Every message names the field, the value received and the fix, so a user can act on it
without reading a stack trace.
"""

from __future__ import annotations


class SmpGymError(Exception):
    """Base class of every error smp_gym raises on purpose."""


class ConfigError(SmpGymError, ValueError):
    """A configuration value or override is invalid."""


class PriorLoadError(SmpGymError, ValueError):
    """A prior checkpoint cannot be found, read or trusted."""


class PriorMismatchError(SmpGymError, ValueError):
    """A prior's feature layout does not match the simulated robot.

    Attributes:
        mismatches: One line per mismatching fact (joint order, end-effectors, window, dt, ...).
    """

    def __init__(self, mismatches: list[str], *, prior: str = "prior") -> None:
        self.mismatches = list(mismatches)
        lines = "\n  - ".join(self.mismatches)
        super().__init__(
            f"The {prior}'s feature layout does not match the simulated G1:\n  - {lines}\n"
            "Fix: use a prior trained with this robot's layout (smp-gym pretrain records it), "
            "or pass prior=... with one that matches."
        )


class MotionDataError(SmpGymError, ValueError):
    """A motion file (CSV / NPZ) or motion folder is malformed."""


def fmt_choices(choices) -> str:
    """Format valid choices for an error message: ``'a', 'b', 'c'``."""
    return ", ".join(repr(c) for c in choices)
