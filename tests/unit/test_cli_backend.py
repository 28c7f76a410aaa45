"""`smp-gym train/bench --backend` reach the env's ``backend`` (docs/backends.md)."""

import importlib.util
import subprocess
import sys

import pytest
import tyro

from smp_gym import cli


def test_train_passes_the_backend_to_the_example_which_parses_it(monkeypatch):
    calls = []
    monkeypatch.setattr(subprocess, "call", lambda argv: calls.append(argv) or 0)
    with pytest.raises(SystemExit):
        cli.main(["train", "--library", "skrl", "--backend", "native", "--iterations", "1"])
    (argv,) = calls
    assert argv[-2:] == ["--backend", "native"]
    spec = importlib.util.spec_from_file_location("skrl_ppo_under_test", argv[1])
    example = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = example  # dataclasses resolve the module by name
    spec.loader.exec_module(example)
    args = tyro.cli(example.Args, args=argv[2:])
    assert args.backend == "native" and args.iterations == 1
    calls.clear()
    with pytest.raises(SystemExit):
        cli.main(["train", "--library", "skrl"])
    assert "--backend" not in calls[0]  # the example's own default (auto: native on a CPU)


def test_bench_builds_its_envs_on_the_chosen_backend(monkeypatch):
    seen = {}
    monkeypatch.setattr("smp_gym.tools.bench.main", lambda **kw: seen.update(kw))
    cli.main(["bench", "--backend", "native", "--num-envs", "2"])
    assert seen["overrides"]["backend"] == "native"
    with pytest.raises(SystemExit):
        cli.main(["bench", "--backend", "mjx"])
