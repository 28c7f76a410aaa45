"""Host-sync budget of the step, proven on the CPU (issue 17): ``SyncCounter`` treats every CPU
tensor as the GPU tensor it would be, so these counts are what the same code does on CUDA.

- SmpVectorEnv.step adds at most ONE sync per step on top of mjlab's own
  ``ManagerBasedRlEnv.step`` (measured here with the same counter, in the configuration
  SmpVectorEnv drives it: ``auto_reset=False``, the caller resetting the envs that ended);
- the adapters add none per step (SB3's numpy API: exactly one copy each way);
- the examples' logging adds one per rollout.

Envs run with ``validate_actions=False``: the CUDA default (None) checks only the action shape
(no sync), while on a CPU env None also checks finiteness. The nonfinite-physics warning looks
at its device counter every step on CPU and every 100th step on CUDA; its per-step CPU sync is
counted separately and asserted to be exactly that one line.
"""

from __future__ import annotations

import contextlib
import io

import gymnasium
import pytest
import torch

import smp_gym  # noqa: F401
from smp_gym.tools.syncs import LaunchCounter, SyncCounter

pytestmark = pytest.mark.sim

N, WARMUP, STEPS = 2, 2, 6
EPISODE_S = 0.1  # 5 control steps: the counted steps include steps where envs end and reset
IDS = [
    "SmpForwardG1-v0",
    "SmpSteeringG1-v0",
    "SmpLocationG1-v0",
    "SmpGetupG1-v0",
    "SmpDodgeballG1-v0",  # its launcher synced twice per step before issue 17 finding 1
]
CPU_ONLY = "faults.py"  # NonfiniteWatch: every step on CPU, every 100th on CUDA


def _smp_env(task: str, **kw):
    return gymnasium.make_vec(
        task,
        num_envs=N,
        device="cpu",
        seed=0,
        validate_actions=False,
        episode_length_s=EPISODE_S,
        gsi={"pool_size": 16, "batch_size": 16},
        **kw,
    )


def _mjlab_env(task: str):
    """The task's own mjlab env, no prior, default-pose resets, driven as SmpVectorEnv drives
    it: ``auto_reset=False`` and the caller resetting the envs that ended."""
    from mjlab.envs import ManagerBasedRlEnv, mdp
    from mjlab.managers.event_manager import EventTermCfg

    from smp_gym.config import SimCfg
    from smp_gym.envs import task_spec

    spec = task_spec(task)
    cfg = spec.make_sim_cfg(spec.cfg_type(), SimCfg(), EPISODE_S)
    cfg.scene.num_envs, cfg.auto_reset, cfg.seed = N, False, 0
    cfg.events["reset"] = EventTermCfg(func=mdp.reset_scene_to_default, mode="reset")
    with contextlib.redirect_stdout(io.StringIO()):
        return ManagerBasedRlEnv(cfg, device="cpu")


def _count_mjlab(task: str) -> tuple[SyncCounter, int]:
    raw = _mjlab_env(task)
    raw.reset()
    a = torch.zeros(N, raw.single_action_space.shape[0])
    syncs, resets = SyncCounter(), 0
    for i in range(WARMUP + STEPS):
        if i == WARMUP:
            syncs.reset()
        with syncs:
            raw.step(a)
        ids = raw.reset_buf.nonzero().squeeze(-1)  # the caller's one sync: not mjlab's
        if len(ids):
            resets += i >= WARMUP
            with syncs:
                raw.reset(env_ids=ids)
    raw.close()
    return syncs, resets


def _ours(event) -> bool:
    return event.origin == "ours" or (event.caller or "").startswith("envs/")


@pytest.mark.parametrize("task", IDS)
def test_step_adds_at_most_one_sync_to_mjlabs_own_step(task):
    env = _smp_env(task)
    env.reset(seed=0)
    a = torch.zeros(N, env.single_action_space.shape[0])
    for _ in range(WARMUP):
        env.step(a)
    ended = 0
    with SyncCounter() as syncs, LaunchCounter() as launches:
        for _ in range(STEPS):
            ended += int("final_info" in env.step(a)[4])
    env.close()
    cpu_only = sum(CPU_ONLY in e.site for e in syncs.events)
    assert cpu_only == STEPS, syncs.by_site()  # exactly the warning's one check per CPU step
    smp = syncs.total - cpu_only
    mjlab, mjlab_resets = _count_mjlab(task)
    report = (
        f"{task}: SmpVectorEnv {smp / STEPS:.2f} syncs/step ({ended} steps ended episodes), "
        f"mjlab {mjlab.total / STEPS:.2f} ({mjlab_resets} resets); "
        f"{launches.eager / STEPS:.0f} Warp launches/step\n"
        f"smp: {dict(syncs.by_site())}\nmjlab: {dict(mjlab.by_site())}"
    )
    print(report)
    assert ended >= 1 and mjlab_resets >= 1, report  # both paths exercised their resets
    # our own lines, and mjlab helpers called from our task code (envs/*.py runs inside
    # mjlab's step, so mjlab's own count includes it): at most one sync per step
    ours = [e for e in syncs.events if _ours(e) and CPU_ONLY not in e.site]
    assert len(ours) <= STEPS, report
    assert smp <= mjlab.total + STEPS, report  # ...and in total, mjlab's own + one per step


@pytest.fixture(scope="module")
def steering():
    env = _smp_env("SmpSteeringG1-v0")
    env.reset(seed=0)
    yield env
    env.close()


def _adapter_syncs(adapter_step, steps: int = STEPS) -> list[str]:
    with SyncCounter() as syncs:
        for _ in range(steps):
            adapter_step()
    return [f"{e.site} [{e.kind}]" for e in syncs.events if "smp_gym/adapters/" in e.site]


def test_skrl_adapter_adds_no_sync_per_step_and_one_per_log_interval(steering):
    from smp_gym.adapters.skrl import SmpSkrlWrapper

    w = SmpSkrlWrapper(steering, log_interval=STEPS)
    w.reset()
    a = torch.zeros(N, 29)
    assert _adapter_syncs(lambda: w.step(a), STEPS - 1) == []
    with SyncCounter() as syncs:
        info = w.step(a)[4]  # the last step of the interval hands the logs over
    hand_over = [e for e in syncs.events if "smp_gym/adapters/" in e.site]
    assert [e.kind for e in hand_over] == ["d2h"], hand_over
    assert all(v.device.type == "cpu" and v.numel() == 1 for v in info["log"].values())
    assert {"SMP / r_smp", "SMP / task reward", "SMP / SDS error"} <= set(info["log"])


def test_rsl_rl_adapter_adds_no_sync_per_step(steering):
    pytest.importorskip("rsl_rl")
    from smp_gym.adapters.rsl_rl import SmpRslRlVecEnv

    v = SmpRslRlVecEnv(steering)
    assert _adapter_syncs(lambda: v.step(torch.zeros(N, 29))) == []


def test_sb3_adapter_copies_once_each_way_per_step(steering):
    pytest.importorskip("stable_baselines3")
    import numpy as np

    from smp_gym.adapters.sb3 import SmpSb3VecEnv

    v = SmpSb3VecEnv(steering)
    v.reset()
    kinds: list[str] = []
    ended = 0
    for _ in range(STEPS):
        v.step_async(np.zeros((N, 29), dtype=np.float32))
        with SyncCounter() as syncs:
            dones = v.step_wait()[2]
        kinds += [e.kind for e in syncs.events if "smp_gym/adapters/" in e.site]
        ended += bool(dones.any())
    # actions in (SB3 gives numpy), one packed copy out, one more on steps where episodes end
    assert sorted(kinds) == sorted(["h2d"] * STEPS + ["d2h"] * (STEPS + ended)), kinds
    assert ended >= 1


def test_logging_reads_the_device_once_per_rollout(steering):
    from smp_gym.adapters.common import LogAccumulator
    from smp_gym.tools.training import ProgressStats

    logs, stats = LogAccumulator(), ProgressStats(steering)
    infos = [steering.step(torch.zeros(N, 29))[4] for _ in range(STEPS)]
    assert any("final_info" in i for i in infos)
    with SyncCounter() as per_step:
        for info in infos:
            logs.add(info)
            stats.update(info)
    assert per_step.total == 0, per_step.by_site()
    with SyncCounter() as read:
        values = logs.read()
    assert read.total == 1 and "Episode / episode_return" in values, read.by_site()
    with SyncCounter() as read:
        stats.postfix()
    assert read.total == 1, read.by_site()
