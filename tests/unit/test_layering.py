"""Dependency rules (ARCHITECTURE.md): pure modules never import mjlab / warp / mujoco_warp,
and ``import smp_gym`` registers the ids without importing torch or mjlab."""

import subprocess
import sys

import pytest

PURE = [
    "smp_gym.config", "smp_gym.errors", "smp_gym.device", "smp_gym.reward", "smp_gym.gsi",
    "smp_gym.registry", "smp_gym.task", "smp_gym.make", "smp_gym.motion.rotations",
    "smp_gym.motion.layout", "smp_gym.motion.features", "smp_gym.motion.window", "smp_gym.motion.io",
    "smp_gym.motion.dataset", "smp_gym.motion.fk", "smp_gym.prior.denoiser", "smp_gym.prior.schedule",
    "smp_gym.prior.checkpoint", "smp_gym.prior.score", "smp_gym.prior.sampling", "smp_gym.prior.train",
    "smp_gym.prior.evaluate", "smp_gym.policy", "smp_gym.data", "smp_gym.cli",
]  # fmt: skip
HEAVY = ("mjlab", "warp", "mujoco_warp")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(','.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return set(out.strip().split(","))


@pytest.mark.parametrize("module", PURE)
def test_pure_module_does_not_import_the_simulator(module):
    loaded = _modules_after(f"import {module}")
    assert not [m for m in HEAVY if m in loaded], f"{module} pulled in the simulator"


def test_import_smp_gym_registers_ids_without_torch_or_mjlab():
    loaded = _modules_after("import gymnasium, smp_gym\nassert 'SmpSteeringG1-v0' in gymnasium.registry")
    assert "torch" not in loaded and "mjlab" not in loaded


def test_import_smp_gym_is_fast():
    """``import smp_gym`` < 1 s (best of 3 fresh interpreters, gymnasium's own import included)."""
    best = min(_import_time() for _ in range(3))
    assert best < 1.0, f"import smp_gym took {best:.2f} s"


def _import_time() -> float:
    code = "import time; t = time.perf_counter(); import smp_gym; print(time.perf_counter() - t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout)  # fmt: skip


def test_this_test_process_has_not_imported_mjlab_when_run_alone():
    """Unit tests themselves must not need mjlab (checked when tests/unit runs on its own)."""
    script = ("import pytest, sys; code = pytest.main(['-q', '-p', 'no:cacheprovider', "
              "'tests/unit/test_features.py', 'tests/unit/test_window.py', 'tests/unit/test_score.py']); "
              "sys.exit(3 if 'mjlab' in sys.modules else code)")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
