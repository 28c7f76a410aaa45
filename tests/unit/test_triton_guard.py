"""``import smp_gym`` changes nothing in the process (issue 18 item 8): no ``sys.meta_path`` hook,
no ``sys.modules["triton"]`` entry, even when Mesa's OpenGL is already loaded (where the old
import-time guard blocked triton for the whole process). The guard is installed where rendering
is configured: ``configure_gl()`` and ``smp-gym``'s ``main()``. Each case runs in a fresh
interpreter with ``MUJOCO_GL=osmesa`` exported, the case the guard exists for."""

import ctypes.util
import os
import subprocess
import sys
import textwrap

import pytest

HAS_OSMESA = ctypes.util.find_library("OSMesa") is not None
PROBE = """
    import sys
    def state():
        hooks = [type(f).__name__ for f in sys.meta_path if type(f).__module__.startswith("smp_gym")]
        return hooks, ("triton" in sys.modules, sys.modules.get("triton", "absent") is None)
"""


def _run(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYOPENGL_PLATFORM", "DISPLAY")}
    env["MUJOCO_GL"] = "osmesa"
    proc = subprocess.run(
        [
            sys.executable,
            "-W",
            "error::RuntimeWarning",
            "-c",
            textwrap.dedent(PROBE) + textwrap.dedent(code),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()


def test_import_smp_gym_installs_no_hook_and_leaves_triton_alone():
    out = _run("""
        before = state()
        import smp_gym, gymnasium
        assert "SmpSteeringG1-v0" in gymnasium.registry
        print(before == state(), state())
    """)
    assert out == ["True ([], (False, False))"]


@pytest.mark.skipif(not HAS_OSMESA, reason="libOSMesa is not installed here")
def test_import_smp_gym_after_mesa_does_not_block_triton():
    """mujoco first loads OSMesa; the old ``import smp_gym`` then set sys.modules["triton"] =
    None (and warned, which -W error turns into a failure)."""
    out = _run("""
        import mujoco
        from smp_gym.triton_guard import mesa_loaded
        assert mesa_loaded()
        import smp_gym
        print(state())
    """)
    assert out == ["([], (False, False))"]


def test_configure_gl_and_the_cli_install_the_guard():
    out = _run("""
        from smp_gym.tools.render import configure_gl
        assert configure_gl() == "osmesa"
        print(state())
    """)
    assert out == ["(['_PreloadTriton'], (False, False))"]
    out = _run("""
        from smp_gym.cli import main
        main(["tasks"])
        print(state())
    """)
    assert out[-1] == "(['_PreloadTriton'], (False, False))"


@pytest.mark.skipif(not HAS_OSMESA, reason="libOSMesa is not installed here")
def test_the_prior_asks_the_guard_not_mujoco_gl():
    """``prior/score.py``'s compile blocker reads what is loaded: nothing loaded -> compile
    allowed even with MUJOCO_GL=osmesa exported; OSMesa loaded, triton not -> blocked."""
    out = _run("""
        from smp_gym.prior.score import _compile_blocker
        print(_compile_blocker() is None)
        import mujoco
        print("LLVM" in (_compile_blocker() or ""))
    """)
    assert out == ["True", "True"]
