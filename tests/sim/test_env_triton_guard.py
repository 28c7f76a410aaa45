"""A process whose environment names ``MUJOCO_GL=osmesa`` before it imports smp_gym (rendering
configured by the user, no ``configure_gl()`` call) builds an env and then loads triton (which
``torch.compile`` and ``torch.optim.Adam`` pull in) without a segfault: ``smp_gym.sim`` installs
the triton guard before mjlab imports mujoco (smp_gym/triton_guard.py). ``import smp_gym``
itself stays hook-free (tests/unit/test_triton_guard.py)."""

import importlib.util
import os
import subprocess
import sys

import pytest

from smp_gym.tools.render import gl_available

CODE = """
import sys
import gymnasium, smp_gym
assert "triton" not in sys.modules
env = gymnasium.make_vec("SmpSteeringG1-v0", num_envs=2, device="cpu", gsi={"init": "default"})
env.reset(seed=0)
import mujoco, OpenGL.GL  # Mesa's OSMesa is in the process now
import triton  # what torch.compile and torch.optim.Adam import
env.close()
print("survived")
"""


@pytest.mark.skipif(
    not gl_available("osmesa"), reason="needs libOSMesa (apt-get install libosmesa6)"
)
@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton")
def test_env_under_user_set_osmesa_survives_triton():
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM",)}
    env["MUJOCO_GL"] = "osmesa"
    proc = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0 and "survived" in proc.stdout, (
        proc.returncode,
        proc.stderr[-2000:],
    )
