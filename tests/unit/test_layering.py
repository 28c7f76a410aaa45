"""Dependency rules (ARCHITECTURE.md): pure modules never import mjlab / warp / mujoco_warp,
``import smp_gym`` registers the ids without importing torch or mjlab, and import-linter's
contracts (pyproject.toml: the core never imports tools/cli/adapters/examples, no cycles, ...)
hold, function-level imports included."""

import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PURE = [
    "smp_gym.config",
    "smp_gym.errors",
    "smp_gym.device",
    "smp_gym.reward",
    "smp_gym.gsi",
    "smp_gym.faults",
    "smp_gym.registry",
    "smp_gym.task",
    "smp_gym.make",
    "smp_gym.motion.rotations",
    "smp_gym.motion.layout",
    "smp_gym.motion.features",
    "smp_gym.motion.window",
    "smp_gym.motion.io",
    "smp_gym.motion.dataset",
    "smp_gym.motion.fk",
    "smp_gym.prior.denoiser",
    "smp_gym.prior.schedule",
    "smp_gym.prior.checkpoint",
    "smp_gym.prior.score",
    "smp_gym.prior.sampling",
    "smp_gym.prior.train",
    "smp_gym.prior.evaluate",
    "smp_gym.tools.policy",
    "smp_gym.tools.data",
    "smp_gym.cli",
]
HEAVY = ("mjlab", "warp", "mujoco_warp")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(','.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.strip().split(","))


@pytest.mark.parametrize("module", PURE)
def test_pure_module_does_not_import_the_simulator(module):
    loaded = _modules_after(f"import {module}")
    assert not [m for m in HEAVY if m in loaded], f"{module} pulled in the simulator"


def test_import_smp_gym_registers_ids_without_torch_or_mjlab():
    loaded = _modules_after(
        "import gymnasium, smp_gym\nassert 'SmpSteeringG1-v0' in gymnasium.registry"
    )
    assert "torch" not in loaded and "mjlab" not in loaded


def test_import_smp_gym_is_fast():
    """``import smp_gym`` < 1 s (best of 3 fresh interpreters, gymnasium's own import included)."""
    best = min(_import_time() for _ in range(3))
    assert best < 1.0, f"import smp_gym took {best:.2f} s"


def _import_time() -> float:
    code = "import time; t = time.perf_counter(); import smp_gym; print(time.perf_counter() - t)"
    return float(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
    )


def test_this_test_process_has_not_imported_mjlab_when_run_alone():
    """Unit tests themselves must not need mjlab (checked when tests/unit runs on its own)."""
    script = (
        "import pytest, sys; code = pytest.main(['-q', '-p', 'no:cacheprovider', "
        "'tests/unit/test_features.py', 'tests/unit/test_window.py', 'tests/unit/test_score.py']); "
        "sys.exit(3 if 'mjlab' in sys.modules else code)"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists() and shutil.which(exe) is None:
        pytest.fail("lint-imports not found: pip install -e '.[dev]' (import-linter)")
    return subprocess.run(
        [exe, "--no-cache", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_import_linter_contracts_hold():
    """pyproject.toml [tool.importlinter]; grimp reads every import statement, in functions too."""
    proc = _lint_imports(REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def test_every_top_level_module_is_placed_in_a_layer():
    """A new smp_gym module must be named in the core contract or live in tools/adapters/cli,
    so the layering check cannot silently skip it."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    core = next(c for c in cfg if c["id"] == "core")
    placed = set(core["source_modules"]) | set(core["forbidden_modules"])
    children = {f"smp_gym.{m.name}" for m in pkgutil.iter_modules([str(REPO / "smp_gym")])}
    assert children - placed == set(), "add these to the 'core' contract (or move them to tools/)"


def test_the_linter_sees_a_cycle_through_a_function_level_import(tmp_path):
    """The checker itself: a cycle closed only inside a function (as the old
    prior.checkpoint -> priors_manifest -> prior.train -> prior.checkpoint was) is reported."""
    pkg = tmp_path / "cyc"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def load():\n    from cyc import b\n    return b\n")
    (pkg / "b.py").write_text("from cyc import a\n")
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent("""
        [importlinter]
        root_package = cyc
        [importlinter:contract:acyclic]
        name = no cycles
        type = acyclic_siblings
        ancestors = cyc
    """)
    )
    proc = _lint_imports(tmp_path, "--config", ".importlinter")
    assert proc.returncode != 0 and "1 broken" in proc.stdout, proc.stdout[-2000:]
