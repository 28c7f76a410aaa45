"""The checker's info rules (smp_gym/check_info.py) side by side with Gymnasium's SyncVectorEnv:
which Gymnasium keys appear in which mode, flat per-step info, episode statistics, what SAME_STEP's
final_info holds, and NEXT_STEP's reset-step info. Each rule fails a deliberately broken env and
passes SyncVectorEnv over sub-envs that report per-step info (as ours does). No mjlab."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorWrapper
from gymnasium.wrappers.vector import RecordEpisodeStatistics

from smp_gym.check import RULES, ContractViolation, check_vector_env
from smp_gym.check_info import GYMNASIUM_KEYS, sync_vector_env_keys
from tests.unit.test_check import MODES, Tamper, sync_env

SAME, NEXT, OFF = AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED


class StepInfo(gymnasium.Wrapper):
    """A sub-env whose step info has the action's effort and a constant, as ours has task_reward
    and sds_error; its reset info has neither."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        effort = float(np.abs(np.asarray(action, dtype=np.float64)).sum())
        return obs, reward, terminated, truncated, {**info, "effort": effort, "bias": 1.0}


def info_env(mode: AutoresetMode, env_id: str = "Pendulum-v1", lengths=(3, 4, 6)):
    fns = [lambda k=k: StepInfo(gymnasium.make(env_id, max_episode_steps=k)) for k in lengths]
    return SyncVectorEnv(fns, autoreset_mode=mode)


def run_keys(env, mode: AutoresetMode, steps: int = 20):
    """(done, Gymnasium keys in info) of each step of ``env``, resetting DISABLED envs by mask."""
    env.reset(seed=0)
    out = []
    for _ in range(steps):
        _, _, term, trunc, info = env.step(env.action_space.sample())
        done = term | trunc
        out.append((done, frozenset(k for k in GYMNASIUM_KEYS if k in info)))
        if mode is OFF and done.any():
            env.reset(options={"reset_mask": done})
    return out


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_sync_vector_env_keys_is_what_sync_vector_env_emits(mode, env_id):
    steps = run_keys(info_env(mode, env_id), mode)
    assert sum(d.any() for d, _ in steps) >= 3  # steps where an env ended are among them
    for done, keys in steps:
        assert keys == sync_vector_env_keys(mode, done)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_sync_vector_env_with_step_info_and_episode_statistics_passes(mode, env_id):
    """Sub-envs with per-step info (masked per key by SyncVectorEnv, absent from the reset info)
    and Gymnasium's vector RecordEpisodeStatistics on top: every info rule holds."""
    report = check_vector_env(RecordEpisodeStatistics(info_env(mode, env_id)), steps=20)
    assert report.episode_ends >= 3
    assert (report.restarts_compared >= 1) == (mode is NEXT)


def _with(fn):
    def step_fn(out):
        obs, rew, term, trunc, info = out
        return obs, rew, term, trunc, fn(dict(info), term | trunc)

    return step_fn


def _nested_metrics(info, done):  # our env's old info["metrics"]
    info["metrics"] = {"speed_error": np.zeros(len(done))}
    return info


def _object_info(info, done):
    info["label"] = np.array(["x"] * len(done), dtype=object)
    return info


def _episode_every_step(info, done):  # statistics with a mask that is not the ending envs
    info["smp_episode/return"] = np.zeros(len(done))
    info["_smp_episode"] = np.ones(len(done), dtype=bool)
    return info


class _EpisodeOnce:
    """Episode statistics on the first ending step only."""

    def __init__(self) -> None:
        self.sent = False

    def __call__(self, info, done):
        if done.any() and not self.sent:
            self.sent = True
            info["smp_episode/return"], info["_smp_episode"] = np.zeros(len(done)), done
        return info


def _final_on_every_step(info, done):
    if not done.any():
        info["final_info"], info["_final_info"] = {}, np.zeros(len(done), dtype=bool)
    return info


def _final_info_is_episode_stats(info, done):  # main before the contract: stats, not step info
    if "final_info" in info:
        info["final_info"] = {"episode_return": np.zeros(len(done))}
    return info


def _stats_in_final_info(info, done):  # an earlier layout of our env: final_info = dict(info)
    info = _flat_stats_mask_per_key(info, done)
    if "final_info" in info:
        info["final_info"] = {**info["final_info"], **{k: v for k, v in info.items() if "smp" in k}}
    return info


def _final_info_on_end(info, done):  # main's NEXT_STEP/DISABLED before the contract
    if done.any():
        info["final_info"] = {"episode_return": np.zeros(len(done))}
        info["_final_info"] = done
    return info


def _flat_stats_on_end(info, done):  # the flat layout: 'smp_episode/<stat>' + '_smp_episode'
    if done.any():
        info["smp_episode/return"], info["smp_episode/length"] = (
            np.ones(len(done)),
            np.ones(len(done)),
        )
        info["_smp_episode"] = done
    return info


def _flat_stats_mask_per_key(info, done):  # Gymnasium's convention: '_smp_episode/<stat>'
    if done.any():
        for stat in ("return", "length"):
            info[f"smp_episode/{stat}"], info[f"_smp_episode/{stat}"] = np.ones(len(done)), done
    return info


def _flat_stats_one_mask_wrong(info, done):
    info = _flat_stats_mask_per_key(info, done)
    if done.any():
        info["_smp_episode/length"] = np.ones(len(done), dtype=bool)
    return info


def _flat_stats_wrong_mask(info, done):
    info = _flat_stats_on_end(info, done)
    if done.any():
        info["_smp_episode"] = np.ones(len(done), dtype=bool)
    return info


def _mask_without_key(info, done):
    info["_smp_episode"] = done
    return info


class ActionInfo(VectorWrapper):
    """Reports the action's effort for every env, also the ones this step resets (the discarded
    physics step's info of issue 18)."""

    def step(self, actions):
        obs, rew, term, trunc, info = self.env.step(actions)
        effort = np.abs(np.asarray(actions, dtype=np.float64)).reshape(len(rew), -1).sum(1)
        return obs, rew, term, trunc, {**info, "effort": effort}


class ActionObs(VectorWrapper):
    """Adds the action to the obs of the envs this step resets (a reset that reads the action)."""

    def __init__(self, env) -> None:
        super().__init__(env)
        self.pending = np.zeros(env.num_envs, dtype=bool)

    def step(self, actions):
        obs, rew, term, trunc, info = self.env.step(actions)
        obs = obs.copy()
        obs[self.pending, 0] = np.clip(np.asarray(actions)[self.pending, 0], -1, 1)
        self.pending = term | trunc
        return obs, rew, term, trunc, info

    def reset(self, **kw):
        self.pending[:] = False
        return self.env.reset(**kw)


class GlobalClock(VectorWrapper):
    """Truncates env 0 every 5th step counted across resets: reset(seed) + the same actions do not
    give the same flags (the restart step after it still reports reward 0 and no flags)."""

    def __init__(self, env) -> None:
        super().__init__(env)
        self.count, self.forced = 0, False

    def step(self, actions):
        obs, rew, term, trunc, info = self.env.step(actions)
        rew, trunc = rew.copy(), trunc.copy()
        if self.forced:
            rew[0] = 0.0
        self.count += 1
        self.forced = self.count % 5 == 0
        trunc[0] |= self.forced
        return obs, rew, term, trunc, info


BROKEN = {  # name: (env builder, rule it breaks)
    "nested per-step info dict": (
        lambda: Tamper(sync_env(SAME), step_fn=_with(_nested_metrics)),
        "info.flat",
    ),
    "object array in info": (
        lambda: Tamper(sync_env(NEXT), step_fn=_with(_object_info)),
        "info.flat",
    ),
    "episode statistics on every step": (
        lambda: Tamper(sync_env(NEXT), step_fn=_with(_episode_every_step)),
        "info.episode_stats",
    ),
    "episode statistics on the first end only": (
        lambda: Tamper(sync_env(OFF), step_fn=_with(_EpisodeOnce())),
        "info.episode_stats",
    ),
    "flat episode statistics with a mask on every env": (
        lambda: Tamper(sync_env(SAME), step_fn=_with(_flat_stats_wrong_mask)),
        "info.episode_stats",
    ),
    "flat episode statistics, one per-key mask on every env": (
        lambda: Tamper(sync_env(NEXT), step_fn=_with(_flat_stats_one_mask_wrong)),
        "info.episode_stats",
    ),
    "a mask without its key or flat keys": (
        lambda: Tamper(sync_env(SAME), step_fn=_with(_mask_without_key)),
        "info.masks",
    ),
    "SAME_STEP final_info on a step where nothing ended": (
        lambda: Tamper(sync_env(SAME), step_fn=_with(_final_on_every_step)),
        "same_step.final_only_on_end",
    ),
    "SAME_STEP final_info without the step info": (
        lambda: Tamper(info_env(SAME), step_fn=_with(_final_info_is_episode_stats)),
        "same_step.final_info_is_step_info",
    ),
    "SAME_STEP final_info with the episode statistics": (
        lambda: Tamper(info_env(SAME), step_fn=_with(_stats_in_final_info)),
        "same_step.final_info_no_stats",
    ),
    "NEXT_STEP final_info on the ending step": (
        lambda: Tamper(sync_env(NEXT), step_fn=_with(_final_info_on_end)),
        "next_step.no_final_info",
    ),
    "DISABLED final_info on the ending step": (
        lambda: Tamper(sync_env(OFF), step_fn=_with(_final_info_on_end)),
        "disabled.no_final_info",
    ),
    "NEXT_STEP reset-step info from the discarded step": (
        lambda: ActionInfo(sync_env(NEXT)),
        "next_step.reset_info",
    ),
    "NEXT_STEP reset-step obs reads the action": (
        lambda: ActionObs(sync_env(NEXT)),
        "next_step.reset_info",
    ),
    "flags not reproducible after reset(seed)": (
        lambda: GlobalClock(sync_env(NEXT, lengths=(50, 50, 50))),
        "reset.replay",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_env_fails_naming_the_rule(name):
    build, rule = BROKEN[name]
    with pytest.raises(ContractViolation, match=rf"^\[{rule.replace('.', '[.]')}\]") as err:
        check_vector_env(build(), steps=20)
    assert err.value.rule == rule and RULES[rule] in str(err.value)


def _stats_on_end(info, done):
    if done.any():
        info["stats"], info["_stats"] = {"r": np.zeros(len(done))}, done
    return info


@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_nested_ok_names_the_dicts_a_wrapper_adds(mode):
    env = Tamper(sync_env(mode), step_fn=_with(_stats_on_end))
    with pytest.raises(ContractViolation, match=r"^\[info\.flat\] info\['stats'\] is a nested"):
        check_vector_env(env, steps=8, episode_keys=("stats",))
    env = Tamper(sync_env(mode), step_fn=_with(_stats_on_end))
    kw = {"episode_keys": ("stats",), "nested_ok": ("stats",)}
    assert check_vector_env(env, steps=8, **kw).episode_ends >= 3


@pytest.mark.parametrize("fn", [_flat_stats_on_end, _flat_stats_mask_per_key])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_flat_episode_statistics_layouts_pass(mode, fn):
    env = Tamper(info_env(mode), step_fn=_with(fn))
    report = check_vector_env(env, steps=8)
    assert report.episode_ends >= 3 and (report.restarts_compared >= 1) == (mode is NEXT)


def _flat_metric(info, done):
    info["metric_speed_error"] = np.zeros(len(done))
    return info


@pytest.mark.parametrize(
    "fn",
    [_nested_metrics, _flat_metric, _flat_stats_on_end, _stats_on_end],
    ids=lambda f: f.__name__,
)
def test_info_flat_agrees_with_torchrl(fn):
    """info.flat fails exactly the infos TorchRL's GymWrapper cannot read: SAME_STEP, an env ending
    on the first step (inside TorchRL's spec discovery), check_env_specs and a rollout."""
    pytest.importorskip("torchrl")
    from torchrl.envs import GymWrapper
    from torchrl.envs.utils import check_env_specs

    def build():
        env = Tamper(info_env(SAME, lengths=(1, 2)), step_fn=_with(fn))
        env.autoreset_mode = SAME  # GymWrapper reads it from the object it is given
        return env

    try:
        check_vector_env(build(), steps=6)
        checker_ok = True
    except ContractViolation as err:
        assert err.rule == "info.flat"
        checker_ok = False
    try:
        wrapped = GymWrapper(build())
        check_env_specs(wrapped)
        wrapped.rollout(6, break_when_any_done=False)
        torchrl_ok = True
    except (RuntimeError, AttributeError):
        torchrl_ok = False
    assert checker_ok == torchrl_ok == (fn in (_flat_metric, _flat_stats_on_end))


def test_reset_info_ignores_masked_off_rows_of_keys_one_run_lacks():
    """Another env may end on the reset step with one action and not the other: its statistics
    keys then exist in one run only, masked off for the restarting env (row 0)."""
    from smp_gym.check_info import reset_info_problem

    done = np.array([True, False])
    base = {"effort": np.array([0.0, 3.0])}
    other = {**base, "smp_episode/return": np.array([9.0, 2.0])}
    run = lambda info: (4, [done], done, np.zeros((2, 1)), info)  # noqa: E731
    masked = {**other, "_smp_episode/return": np.array([False, True])}
    assert reset_info_problem(run(base), run({**masked, "effort": np.array([0.0, 1.0])})) is None
    unmasked = {**other, "_smp_episode/return": np.array([True, True])}
    assert reset_info_problem(run(base), run(unmasked))[0] == "next_step.reset_info"
    assert reset_info_problem(run(base), run({"effort": np.array([1.0, 3.0])}))[0] == (
        "next_step.reset_info"
    )


def test_torchrl_drops_keys_that_first_appear_after_its_spec_discovery():
    """What docs/interop.md says of TorchRL and episode statistics: flat keys present only on
    ending steps are in TorchRL's tensordicts only if an env ended during its spec discovery."""
    pytest.importorskip("torchrl")
    from torchrl.envs import GymWrapper

    keys = {}
    for lengths in ((1, 2), (3, 4)):
        env = Tamper(info_env(SAME, lengths=lengths), step_fn=_with(_flat_stats_on_end))
        env.autoreset_mode = SAME
        td = GymWrapper(env).rollout(8, break_when_any_done=False)
        keys[lengths] = set(td["next"].keys())
    assert "smp_episode/return" in keys[(1, 2)] and "effort" in keys[(1, 2)]
    assert "smp_episode/return" not in keys[(3, 4)] and "effort" in keys[(3, 4)]


def test_per_env_record_episode_statistics_breaks_final_info_no_stats():
    """Gymnasium's own SyncVectorEnv with RecordEpisodeStatistics on each sub-env (the pre-1.0
    CleanRL setup) puts 'episode' into final_info: the rule fails it, as CleanRL's loop crashes
    on it (tests/interop/test_loop_idioms.py)."""
    fns = [
        lambda k=k: gymnasium.wrappers.RecordEpisodeStatistics(
            gymnasium.make("Pendulum-v1", max_episode_steps=k)
        )
        for k in (3, 4)
    ]
    with pytest.raises(ContractViolation, match=r"^\[same_step\.final_info_no_stats\] step 2: "):
        check_vector_env(SyncVectorEnv(fns, autoreset_mode=SAME), steps=8)
