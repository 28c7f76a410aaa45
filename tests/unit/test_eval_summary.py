"""`smp-gym eval`'s summary follows the task's metric declarations (no per-task code)."""

import pytest

from smp_gym.task import Metric
from smp_gym.tools.policy import summarize


def _row(length, hit, dodges, terminated):
    return {
        "return": 1.0,
        "length": length,
        "smp_reward": 0.5,
        "sds_error": 0.1,
        "task_return": 2.0,
        "terminated": terminated,
        "hit": hit,
        "dodges": dodges,
    }


def test_summary_reports_rates_from_the_declarations():
    specs = {
        "hit": Metric(name="hit", fn=None, reduce="max", label="hit", lower_is_better=True),
        "dodges": Metric(name="dodges", fn=None, reduce="sum", label="dodges"),
    }
    rows = [_row(500, 1.0, 3.0, True), _row(250, 0.0, 1.0, False)]
    out = summarize("SmpDodgeballG1-v0", rows, specs, step_dt=0.02)
    assert out["hit"] == pytest.approx(0.5)  # one of two episodes ended by a hit
    # 4 dodges over (500 + 250) steps x 0.02 s = 15 s = 0.25 min -> 16 per minute
    assert out["dodges_per_min"] == pytest.approx(16.0)
    assert out["dodges"] == pytest.approx(2.0) and out["fall_rate"] == pytest.approx(0.5)
    assert "success_rate" not in out and "hit_per_min" not in out
    assert out["metric_titles"] == {"hit": "hit", "dodges": "dodges"}
    assert out["episode_length_s"] == pytest.approx(7.5)
