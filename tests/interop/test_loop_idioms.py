"""The two episode-logging idioms training loops use in the wild, written here (no third-party file
copied), run over ``RecordEpisodeStatistics(ArrayConversion(make_vec(id, ...)))`` and, side by
side, over Gymnasium's own ``SyncVectorEnv`` of Pendulum with the same wrapper:

- CleanRL's (``ppo_continuous_action.py`` before Gymnasium 1.0): ``if "final_info" in infos: for
  info in infos["final_info"]: if info and "episode" in info: ... info["episode"]["r"]``.
  Gymnasium 1.x's ``final_info`` is a dict of arrays (SAME_STEP only), so the loop iterates key
  strings and never finds an episode: by construction it sees nothing under Gymnasium 1.x, on
  SyncVectorEnv as on ours. It must not crash, and see what SyncVectorEnv makes it see.
- Gymnasium 1.x's: ``infos["episode"]["r"][infos["_episode"]]``: sees every episode end.

Also our own statistics, ``infos["smp_episode/<stat>"][infos["_smp_episode/<stat>"]]``, in every
mode: every end, with the return and length Gymnasium's RecordEpisodeStatistics counted.

Each mode runs one short loop per env (2 envs, 0.1 s = 5-step episodes) and the tests read the
recorded results.
"""

from __future__ import annotations

import functools

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.wrappers.vector import ArrayConversion, RecordEpisodeStatistics

pytestmark = pytest.mark.sim
MODES = list(AutoresetMode)
N, LIMIT, STEPS = 2, 5, 14  # envs; steps per episode (0.1 s at 50 Hz); loop steps (2 ends each)


def cleanrl_idiom(infos: dict, seen: list) -> None:
    if "final_info" in infos:
        for info in infos["final_info"]:
            if info and "episode" in info:
                seen.append(float(info["episode"]["r"]))


def gymnasium_idiom(infos: dict, seen: list) -> None:
    if "episode" in infos:
        seen.extend(infos["episode"]["r"][infos["_episode"]].tolist())


def smp_idiom(infos: dict, seen: list) -> None:
    """Our statistics: flat keys 'smp_episode/<stat>', each with Gymnasium's mask '_<key>'."""
    if "smp_episode/return" in infos:
        ret = infos["smp_episode/return"][infos["_smp_episode/return"]]
        length = infos["smp_episode/length"][infos["_smp_episode/length"]]
        seen.extend(zip(ret.tolist(), length.tolist(), strict=True))


def smp_env(mode: AutoresetMode):
    from tests.sim.conftest import make

    env = make(
        "SmpSteeringG1-v0",
        num_envs=N,
        episode_length_s=0.1,
        autoreset_mode=mode.value,
        gsi={"pool_size": 16, "batch_size": 16},
    )
    return RecordEpisodeStatistics(ArrayConversion(env, env_xp=torch, target_xp=np))


def sync_env(mode: AutoresetMode):
    fns = [lambda: gymnasium.make("Pendulum-v1", max_episode_steps=LIMIT)] * N
    return RecordEpisodeStatistics(SyncVectorEnv(fns, autoreset_mode=mode))


IDIOMS = {"cleanrl": cleanrl_idiom, "gymnasium": gymnasium_idiom, "smp": smp_idiom}


@functools.cache
def run(kind: str, mode: AutoresetMode) -> dict:
    """One loop of STEPS steps with the three idioms reading every step's infos (DISABLED: the
    loop resets ended envs by reset_mask, as TorchRL does). An idiom that raises is recorded in
    ``errors`` and not called again; the others go on."""
    env = smp_env(mode) if kind == "smp" else sync_env(mode)
    env.action_space.seed(0)
    env.reset(seed=0)
    out = {"ended": 0, "final_info_steps": [], "end_steps": [], "episodes": [], "errors": {}}
    out.update({name: [] for name in IDIOMS})
    for t in range(STEPS):
        _, _, term, trunc, infos = env.step(env.action_space.sample())
        done = term | trunc
        out["ended"] += int(done.sum())
        out["end_steps"] += [t] * bool(done.any())
        out["final_info_steps"] += [t] * ("final_info" in infos)
        for name, idiom in IDIOMS.items():
            if name not in out["errors"]:
                try:
                    idiom(infos, out[name])
                except Exception as e:  # noqa: BLE001 - the test names it
                    out["errors"][name] = f"step {t}: {type(e).__name__}: {e}"
        if "episode" in infos:
            m, ep = infos["_episode"], infos["episode"]
            out["episodes"] += zip(ep["r"][m].tolist(), ep["l"][m].tolist(), strict=True)
        if mode is AutoresetMode.DISABLED and done.any():
            env.reset(options={"reset_mask": done})
    env.close()
    return out


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_cleanrl_idiom_runs_and_sees_what_sync_vector_env_sees(mode):
    ours, ref = run("smp", mode), run("sync", mode)
    assert "cleanrl" not in ours["errors"] and "cleanrl" not in ref["errors"], ours["errors"]
    assert ours["ended"] >= 2 * N and ref["ended"] == 2 * N  # Pendulum: steps 4 and 9 (NEXT: 4, 10)
    # Gymnasium 1.x: final_info exactly on the ending steps of SAME_STEP, never otherwise
    for r in (ours, ref):
        want = r["end_steps"] if mode is AutoresetMode.SAME_STEP else []
        assert r["final_info_steps"] == want
    # ... and it is a dict of arrays: the loop iterates its keys and finds no episode, on both
    assert ours["cleanrl"] == ref["cleanrl"] == []


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_gymnasium_idiom_sees_every_episode_end(mode):
    ours, ref = run("smp", mode), run("sync", mode)
    for r in (ours, ref):
        assert "gymnasium" not in r["errors"], r["errors"]
        assert len(r["gymnasium"]) == r["ended"] >= 2
    assert [length for _, length in ref["episodes"]] == [LIMIT] * (2 * N)
    assert all(1 <= length <= LIMIT for _, length in ours["episodes"])


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_smp_episode_statistics_in_every_mode_agree_with_record_episode_statistics(mode):
    ours = run("smp", mode)
    assert "smp" not in ours["errors"], ours["errors"]
    assert len(ours["smp"]) == ours["ended"] >= 2
    # our accumulator and Gymnasium's, episode by episode: same return and length
    np.testing.assert_allclose(ours["smp"], ours["episodes"], rtol=1e-5, atol=1e-6)


def test_cleanrl_idiom_crashes_on_gymnasium_own_per_env_statistics():
    """The idiom's other setup, RecordEpisodeStatistics on each sub-env, breaks on Gymnasium 1.x's
    own SyncVectorEnv (SAME_STEP): final_info = {"episode": {...}, "_episode": ...}, so the loop
    indexes the string "episode". Why docs/interop.md points CleanRL users at the 1.x idiom."""
    fns = [
        lambda: gymnasium.wrappers.RecordEpisodeStatistics(
            gymnasium.make("Pendulum-v1", max_episode_steps=2)
        )
    ] * N
    env = SyncVectorEnv(fns, autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    infos = env.step(env.action_space.sample())[4]
    assert sorted(infos["final_info"]) == ["_episode", "episode"]
    with pytest.raises(TypeError, match="string indices must be integers"):
        cleanrl_idiom(infos, [])
