"""mjlab at arm's length (smp_gym/sim/mjlab_bridge.py): the installed mjlab still has every
private name the bridge uses, nothing else in the repository touches an mjlab private name,
resets take the graphed forward exactly when mjlab has one, and a CUDA env without graphs warns
with mjlab's reason."""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from smp_gym.sim import mjlab_bridge
from smp_gym.sim.mjlab_bridge import MjlabApiError, api_problems, mjlab_version
from tests.sim.conftest import make

pytestmark = pytest.mark.sim
ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("smp_gym", "envs", "tests", "examples", "benchmarks")
ALLOWED = {"smp_gym/sim/mjlab_bridge.py", "tests/sim/test_mjlab_bridge.py"}
NOT_MJLAB = {  # private names of other libraries' objects that share a name with mjlab's
    "smp_gym/tools/training.py": {
        "_rank",
        "_local_rank",
        "_world_size",
        "_is_distributed",
        "_device",
    }
}  # (skrl 2.1.1's torch config under torchrun: see import_skrl there)


def test_installed_mjlab_has_every_private_name_the_bridge_uses(steering_env):
    problems = api_problems(steering_env.unwrapped.sim)
    assert not problems, (
        f"mjlab {mjlab_version()} (smp_gym/sim/mjlab_bridge.py was written against "
        f"{mjlab_bridge.TESTED_MJLAB}.x): " + "; ".join(problems)
    )


def test_a_missing_name_raises_naming_the_mjlab_version():
    class OldEnv:  # an mjlab without _reset_idx; an instance without _manual_reset_pending
        pass

    class OldCommand:
        def _update_command(self, env_ids):
            pass

    problems = api_problems(
        SimpleNamespace(), env_cls=OldEnv, command_cls=OldCommand, check_source=False
    )
    assert problems == [
        "ManagerBasedRlEnv._reset_idx(env_ids) is gone",
        "CommandTerm's hooks ['_resample_command', '_update_metrics'] are gone "
        "(the task commands implement them)",
        "ManagerBasedRlEnv._manual_reset_pending is no longer a bool tensor",
    ]
    with pytest.raises(MjlabApiError, match=rf"^mjlab {mjlab_version()} \(smp_gym was written"):
        mjlab_bridge.raise_for(problems)


def _private_defs(tree: ast.AST) -> set[str]:
    """Private names a module defines on its own objects: ``self._x = ...`` and ``def _x``."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                out.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
    return {n for n in out if n.startswith("_") and not n.startswith("__")}


def _ours() -> dict[str, ast.AST]:
    files = [p for d in SCANNED for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts]
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text(), str(p)) for p in files}


def test_nothing_outside_the_bridge_touches_an_mjlab_private_name():
    import mjlab

    theirs = set()
    for path in Path(mjlab.__file__).parent.rglob("*.py"):
        theirs |= _private_defs(ast.parse(path.read_text()))
    ours = _ours()
    own = set().union(*(_private_defs(t) for t in ours.values()))
    # Names only mjlab defines, plus those the bridge uses (whoever else defines them).
    foreign = (theirs - own) | set(mjlab_bridge.PRIVATE_NAMES)
    found = []
    for path, tree in ours.items():
        if path in ALLOWED:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
                continue
            if node.attr in NOT_MJLAB.get(path, ()):
                continue
            on_self = isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")
            stored = isinstance(node.ctx, ast.Store) and not node.attr.startswith("__")
            if (node.attr in foreign and not on_self) or (stored and not on_self):
                found.append(f"{path}:{node.lineno} .{node.attr}")
    assert not found, (
        f"mjlab {mjlab_version()} private names (or state stored on another object) used "
        f"outside smp_gym/sim/mjlab_bridge.py: {found}; route them through the bridge."
    )


def test_resets_take_the_graphed_forward_exactly_when_mjlab_has_one(monkeypatch):
    graphs = SimpleNamespace(use_cuda_graph=True, forward_graph=object())
    assert mjlab_bridge.graphed_forward(SimpleNamespace(sim=graphs))
    assert not mjlab_bridge.graphed_forward(
        SimpleNamespace(sim=SimpleNamespace(use_cuda_graph=False, forward_graph=None))
    )
    calls = []
    light = mjlab_bridge.light_forward
    monkeypatch.setattr(mjlab_bridge, "light_forward", lambda s: (calls.append("light"), light(s)))
    for cuda_graphs in (False, True):  # the device flag, injected: CPU, then a graphed CUDA env
        monkeypatch.setattr(mjlab_bridge, "graphed_forward", lambda sim, g=cuda_graphs: g)
        env = make("SmpSteeringG1-v0", num_envs=2, gsi={"init": "default"})
        forward = env.unwrapped.sim.sim.forward
        env.unwrapped.sim.sim.forward = lambda f=forward: (calls.append("full"), f())
        calls.clear()
        env.reset(seed=0)
        assert calls == (["full"] if cuda_graphs else ["light"]), cuda_graphs
        env.close()


def test_cuda_without_graphs_warns_with_mjlabs_own_reason(monkeypatch):
    """mjlab only prints why it turned CUDA graphs off: run mjlab's own check on a stand-in CUDA
    device with Warp's memory pool off and an old driver, capture what it prints, and warn."""
    import warp as wp
    from mjlab.sim.sim import Simulation

    monkeypatch.setattr(wp, "get_cuda_driver_version", lambda: (12, 2))
    monkeypatch.setattr(wp, "is_mempool_enabled", lambda device: False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        used = Simulation._should_use_cuda_graph(
            SimpleNamespace(wp_device=SimpleNamespace(is_cuda=True))
        )
    assert used is False
    with pytest.warns(RuntimeWarning, match=r"\(mjlab: mempool disabled, driver 12.2 < 12.4\)"):
        mjlab_bridge.warn_if_graphs_off(out.getvalue(), torch.device("cuda"), False)
    with contextlib.redirect_stdout(io.StringIO()):  # no reason printed: still a warning
        msg = mjlab_bridge.warn_if_graphs_off("", torch.device("cuda:1"), False)
    assert "no reason printed" in msg
    assert mjlab_bridge.warn_if_graphs_off(out.getvalue(), torch.device("cpu"), False) is None
    assert mjlab_bridge.warn_if_graphs_off("", torch.device("cuda"), True) is None


def test_mjlab_output_is_captured_unless_verbose(capfd):
    env = make("SmpSteeringG1-v0", num_envs=1, gsi={"init": "default"})
    env.close()
    assert "Active" not in capfd.readouterr().out  # mjlab's manager tables
    env = make("SmpSteeringG1-v0", num_envs=1, gsi={"init": "default"}, verbose=True)
    env.close()
    assert "Active" in capfd.readouterr().out
