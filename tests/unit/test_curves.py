"""`smp-gym curves`: the same quantity, logged by skrl, SB3 and rsl_rl, lands on one env-step axis."""

from __future__ import annotations

import json

import pytest
from torch.utils.tensorboard import SummaryWriter

from smp_gym import cli
from smp_gym.errors import ConfigError
from smp_gym.tools.curves import load_run, plot_runs

# library -> (events folder, tag of r_smp, tag of velocity error, env steps per logged step)
LIBS = {
    "skrl": ("skrl", "SMP / r_smp", "Task / vel_error", 4),
    "sb3": ("tb/PPO_1", "SMP/r_smp", "Task/vel_error", 1),
    "rsl_rl": ("rsl_rl", "Episode/SMP/r_smp", "Episode/Task/vel_error", 4 * 24),
}


VEL = {"label": "velocity error", "unit": "m/s", "lower_is_better": True, "success": False}


def fake_run(root, lib: str, metrics: dict | None = None):
    folder, smp_tag, vel_tag, _ = LIBS[lib]
    run = root / f"SmpSteeringG1-v0_{lib}_0"
    (run / folder).mkdir(parents=True)
    args = {
        "num_envs": 4,
        "steps_per_env": 24,
        "metrics": {"vel_error": VEL} if metrics is None else metrics,
    }
    (run / "args.json").write_text(json.dumps(args))
    w = SummaryWriter(run / folder)
    for i, step in enumerate((10, 20, 30)):
        w.add_scalar(smp_tag, 0.1 * (i + 1), step)
        w.add_scalar(vel_tag, 2.0 - i, step)
        w.add_scalar("Loss / Policy loss", 9.0, step)  # not a curve we plot
    w.close()
    return run


@pytest.mark.parametrize("lib", sorted(LIBS))
def test_each_librarys_tags_map_to_the_same_curves_in_env_steps(tmp_path, lib):
    curves = load_run(fake_run(tmp_path, lib))
    per_step = LIBS[lib][3]
    assert set(curves) == {"r_smp (per step)", "velocity error [m/s] (per step)"}
    x, y = curves["r_smp (per step)"]
    assert x == [10 * per_step, 20 * per_step, 30 * per_step]
    assert y == pytest.approx([0.1, 0.2, 0.3])
    assert curves["velocity error [m/s] (per step)"][1] == pytest.approx([2.0, 1.0, 0.0])


def test_task_metric_panels_follow_the_declarations_not_known_names(tmp_path):
    """A metric curves.py has never heard of gets a panel titled by its declared label and unit;
    without declarations (older runs) the panel is titled by the logged name."""
    run = fake_run(tmp_path, "skrl", metrics={"vel_error": {"label": "wobble", "unit": "rad"}})
    assert "wobble [rad] (per step)" in load_run(run)
    other = fake_run(tmp_path / "old", "sb3", metrics={})
    assert "vel_error (per step)" in load_run(other)


def test_cli_plots_several_runs_into_one_figure(tmp_path, capsys):
    runs = [str(fake_run(tmp_path, lib)) for lib in ("skrl", "sb3")]
    out = tmp_path / "fig" / "curves.png"
    cli.main(["curves", *runs, "--out", str(out), "--smooth", "2"])
    assert capsys.readouterr().out.strip() == str(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_folders_that_are_not_runs_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="no args.json"):
        load_run(tmp_path)
    (tmp_path / "args.json").write_text(json.dumps({"num_envs": 4}))
    with pytest.raises(ConfigError, match="no TensorBoard events"):
        load_run(tmp_path)
    w = SummaryWriter(tmp_path / "skrl")
    w.add_scalar("Loss / Policy loss", 1.0, 1)
    w.close()
    with pytest.raises(ConfigError, match="none of the SMP tags"):
        plot_runs([tmp_path], tmp_path / "x.png")
