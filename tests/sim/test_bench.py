"""`smp-gym bench` end to end at 2 envs: both envs measured, the split adds up, GSI refresh timed.

Timings themselves are not asserted (shared machines are noisy); their consistency is.
"""

from __future__ import annotations

import json

import pytest

from smp_gym.tools import bench

pytestmark = pytest.mark.sim

SMALL_GSI = {"gsi": {"pool_size": 64, "batch_size": 64, "refresh_count": 32}}


def test_bench_reports_both_envs_the_ratio_and_a_split_that_adds_up(tmp_path, capsys):
    out = tmp_path / "bench.json"
    result = bench.main(
        task="SmpSteeringG1-v0",
        num_envs=(2,),
        steps=4,
        warmup=1,
        repeats=1,
        device="cpu",
        json_out=False,
        out=out,
        overrides=SMALL_GSI,
    )

    assert json.loads(out.read_text()) == json.loads(json.dumps(result))
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    (row,) = result["rows"]
    assert row["num_envs"] == 2 and row["raw_steps_per_s"] > 0 and row["smp_steps_per_s"] > 0
    assert row["ratio"] == pytest.approx(row["smp_steps_per_s"] / row["raw_steps_per_s"])
    assert row["overhead_pct"] == pytest.approx(100 * (1 / row["ratio"] - 1))

    split = row["split_ms_per_step"]
    assert set(split) == set(bench.STAGES) and all(v >= 0 for v in split.values())
    assert split["physics+task"] > 0 and split["prior forward"] > 0
    mean_step_ms = sum(split.values())  # "other" is the remainder of the timed steps
    assert row["median_step_ms_timed"] <= row["worst_step_ms_timed"]
    assert mean_step_ms <= row["worst_step_ms_timed"] * 1.0001

    refresh = row["gsi_refresh"]
    assert refresh["windows"] == 32
    assert 0 < refresh["one_advance_ms"] < refresh["unamortized_ms"]

    printed = capsys.readouterr().out
    assert (
        "SmpVectorEnv (b)" in printed
        and "prior forward" in printed
        and "gsi+reset" in printed
        and "if not amortized" in printed
    )
    assert row["prior_forward"] == "eager"  # 2 envs: below the compile-by-default threshold


def test_instrumented_env_still_resets(tmp_path):
    from collections import defaultdict

    import torch

    from tests.sim.conftest import make

    env = make("SmpSteeringG1-v0", num_envs=2, episode_length_s=0.06)  # 3-step episodes
    times: dict = defaultdict(float)
    bench._instrument(env, times, torch.device("cpu"))
    env.reset(seed=0)
    ended = 0
    for _ in range(5):
        *_, info = env.step(torch.zeros(2, 29))
        ended += int(info.get("_final_info", torch.zeros(2, dtype=torch.bool)).sum())
    assert ended >= 2 and times["gsi+resets"] > 0 and times["frame+window"] > 0
    env.close()


@pytest.mark.parametrize("backend", ["warp", "native"])
def test_the_raw_baseline_steps_on_the_same_backend_as_the_env(backend):
    """b/a is the SMP layer's cost only when (a) and (b) share their physics: ``--backend
    native`` once compared a native SmpVectorEnv with a Warp raw env (b/a 4.0, "-75 %")."""
    import torch

    from smp_gym.sim.native import NativeSimulation

    raw = bench.raw_env("SmpSteeringG1-v0", 2, torch.device("cpu"), backend, num_threads=1)
    try:
        assert isinstance(raw.sim, NativeSimulation) == (backend == "native")
        raw.reset()
        raw.step(torch.zeros(2, 29))
    finally:
        raw.close()
