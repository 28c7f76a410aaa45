"""The examples' progress-bar postfix: what people watch, computed from the env's step info
(expected values by hand from the two steps below)."""

from types import SimpleNamespace

import torch

from smp_gym.task import Metric
from smp_gym.tools.training import ProgressStats


def _env():
    specs = {
        "vel_error": Metric(
            name="vel_error", fn=lambda sim: None, unit="m/s", lower_is_better=True
        ),
        "at_goal": Metric(name="at_goal", fn=lambda sim: None, reduce="max", success=True),
    }
    return SimpleNamespace(
        unwrapped=SimpleNamespace(metric_specs=specs, device=torch.device("cpu"))
    )


def _info(smp, vel, done=None, ret=None, length=None, goal=None):
    info = {
        "smp_reward": torch.tensor(smp),
        "metric_vel_error": torch.tensor(vel),
        "metric_at_goal": torch.zeros(len(smp)),
    }
    if done is not None:
        info["_smp_episode/length"] = torch.tensor(done)
        info["smp_episode/return"] = torch.tensor(ret)
        info["smp_episode/length"] = torch.tensor(length)
        info["smp_episode/vel_error"] = torch.zeros(2)
        info["smp_episode/at_goal"] = torch.tensor(goal)
    return info


def test_postfix_shows_return_length_r_smp_error_and_success():
    stats = ProgressStats(_env())
    stats.update(_info([0.2, 0.4], [1.0, 3.0]))
    stats.update(
        _info(
            [0.5, 0.5],
            [0.0, 1.0],
            done=[True, False],
            ret=[10.0, 99.0],
            length=[100, 7],
            goal=[1.0, 0.0],
        )
    )
    # r_smp: mean(0.3, 0.5); vel_error: mean(2.0, 0.5); only env 0 ended: return 10, length 100
    assert stats.postfix() == {
        "return": "10.00",
        "len": "100",
        "at_goal": "100%",
        "r_smp": "0.400",
        "vel_error": "1.250 m/s",
    }


def test_episode_values_carry_over_a_window_where_none_ended():
    stats = ProgressStats(_env())
    assert stats.postfix() == {"return": "-", "len": "-"}
    stats.update(
        _info(
            [0.1, 0.1],
            [0.0, 0.0],
            done=[True, True],
            ret=[2.0, 4.0],
            length=[10, 30],
            goal=[0.0, 1.0],
        )
    )
    assert stats.postfix()["return"] == "3.00"
    stats.update(_info([0.3, 0.3], [2.0, 2.0]))
    assert stats.postfix() == {
        "return": "3.00",
        "len": "20",
        "at_goal": "50%",
        "r_smp": "0.300",
        "vel_error": "2.000 m/s",
    }
