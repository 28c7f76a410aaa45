"""The G1 tasks, one file each (installed as ``smp_gym.envs``). Importing a task imports mjlab."""

from __future__ import annotations

import importlib

from smp_gym import triton_guard
from smp_gym.registry import task_info

# Task modules import mjlab (and so mujoco): with MUJOCO_GL=osmesa/egl already set, triton must
# load first (smp_gym/triton_guard.py). `import smp_gym` alone installs nothing.
triton_guard.install_if_configured()


def task_spec(task: str):
    """The TaskSpec of a task id or short name (imports that task's module)."""
    return importlib.import_module(task_info(task).module).TASK
