"""The vector-env checker itself: it passes Gymnasium's own SyncVectorEnv in all three autoreset
modes and fails deliberately broken envs with a message naming the broken rule (no mjlab)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorWrapper

from smp_gym.check import RULES, CheckReport, ContractViolation, check_vector_env

MODES = list(AutoresetMode)


def sync_env(mode: AutoresetMode, env_id: str = "Pendulum-v1", lengths=(3, 4, 6)) -> SyncVectorEnv:
    """Gymnasium's reference vector env; staggered time limits so envs end on different steps."""
    fns = [lambda k=k: gymnasium.make(env_id, max_episode_steps=k) for k in lengths]
    return SyncVectorEnv(fns, autoreset_mode=mode)


@pytest.mark.parametrize("env_id", ["Pendulum-v1", "CartPole-v1"])
@pytest.mark.parametrize("mode", MODES, ids=[m.value for m in MODES])
def test_gymnasium_sync_vector_env_passes_in_every_mode(mode, env_id):
    report = check_vector_env(sync_env(mode, env_id), steps=20, min_episode_ends=3)
    # Pendulum never terminates: 20 steps of time limits 3, 4 and 6 end 6 + 5 + 3 = 14 episodes in
    # SAME_STEP/DISABLED; NEXT_STEP spends one step per end on the reset, so an episode takes
    # k + 1 steps: ends at 3,7,11,15,19 + 4,9,14,19 + 6,13,20 = 12.
    if env_id == "Pendulum-v1":
        assert report == CheckReport(
            autoreset_mode=mode,
            num_envs=3,
            steps=20,
            episode_ends=12 if mode is AutoresetMode.NEXT_STEP else 14,
            # NEXT_STEP replays the first end (env 0's, at its 3rd step) with two actions
            restarts_compared=1 if mode is AutoresetMode.NEXT_STEP else 0,
        )


def test_gymnasium_make_vec_cartpole_vector_entry_point_passes():
    env = gymnasium.make_vec(
        "CartPole-v1", num_envs=4, max_episode_steps=5
    )  # CartPoleVectorEnv, NEXT_STEP
    assert check_vector_env(env, steps=15).episode_ends >= 4


class Misdeclared(SyncVectorEnv):
    """Steps in mode ``behaves`` but declares ``declares`` (metadata and attribute agree)."""

    def __init__(self, behaves: AutoresetMode, declares: AutoresetMode) -> None:
        super().__init__(sync_env(behaves).env_fns, autoreset_mode=behaves)
        self._behaves, self.autoreset_mode = behaves, declares
        self.metadata = {**self.metadata, "autoreset_mode": declares}

    def step(self, actions):
        declared, self.autoreset_mode = self.autoreset_mode, self._behaves
        try:
            return super().step(actions)
        finally:
            self.autoreset_mode = declared


class Tamper(VectorWrapper):
    """Breaks one thing of a correct env: ``step_fn(result) -> result``, ``reset_fn(env, kw)``."""

    def __init__(self, env, step_fn=None, reset_fn=None, metadata=None):
        super().__init__(env)
        self._step_fn, self._reset_fn = step_fn, reset_fn
        if metadata is not None:
            self.metadata = {**env.metadata, **metadata}

    def step(self, actions):
        out = self.env.step(actions)
        return self._step_fn(out) if self._step_fn else out

    def reset(self, **kw):
        return self._reset_fn(self.env, kw) if self._reset_fn else self.env.reset(**kw)


def _with_info(fn):
    def step_fn(out):
        obs, rew, term, trunc, info = out
        return obs, rew, term, trunc, fn(dict(info), term | trunc)

    return step_fn


def _flip_final_mask(info, done):
    if "_final_obs" in info:
        info["_final_obs"] = ~info["_final_obs"]
    return info


def _drop_final(info, done):
    return {k: v for k, v in info.items() if "final" not in k}


def _not_reset(out):  # returns the final obs instead of the reset obs
    obs, rew, term, trunc, info = out
    obs = obs.copy()
    for i in np.flatnonzero(term | trunc):
        obs[i] = info["final_obs"][i]
    return obs, rew, term, trunc, info


def _dense_wrong_shape(info, done):
    if "final_obs" in info:
        info["final_obs"] = np.zeros((len(done), 2), dtype=np.float32)
    return info


class _SharedBuffer:
    """Returns one obs buffer, written in place by every later step and reset (an aliasing bug)."""

    def __init__(self) -> None:
        self.buf = None

    def _write(self, obs):
        if self.buf is None:
            self.buf = obs.copy()
        self.buf[:] = obs
        return self.buf

    def step(self, out):
        return (self._write(out[0]), *out[1:])

    def reset(self, env, kw):
        obs, info = env.reset(**kw)
        return self._write(obs), info


class _ResetIntoLastStep:
    """Like a vector env that keeps the obs it returned from step() as its state and writes the
    reset rows into it (SmpVectorEnv's aliasing bug, caught by TorchRL's collector)."""

    def __init__(self) -> None:
        self.last = None

    def step(self, out):
        self.last = out[0]
        return out

    def reset(self, env, kw):
        obs, info = env.reset(**kw)
        if self.last is None:
            return obs, info
        self.last[:] = obs
        return self.last.copy(), info


def _reward_plus_one(out):
    obs, rew, term, trunc, info = out
    return obs, rew + 1.0, term, trunc, info


def _reset_all_ignoring_mask(env, kw):
    kw.get("options", {}).pop("reset_mask", None)
    return env.reset(**kw)


def _ignore_mask(env, kw):
    if "reset_mask" in (kw.get("options") or {}):
        return env.unwrapped._observations.copy(), {}
    return env.reset(**kw)


def _truncate_mask(env, kw):
    opts = kw.get("options") or {}
    if "reset_mask" in opts:
        opts["reset_mask"] = opts["reset_mask"][: env.num_envs]
    return env.reset(**kw)


def _unseeded(env, kw):
    kw.pop("seed", None)
    return env.reset(**kw)


def _obs_float64(out):
    obs, *rest = out
    return (obs.astype(np.float64), *rest)


def _reward_column(out):
    obs, rew, *rest = out
    return (obs, rew[:, None], *rest)


def _flags_int(out):
    obs, rew, term, trunc, info = out
    return obs, rew, term.astype(np.int64), trunc, info


def _short_info(info, done):
    info["speed"] = np.zeros(len(done) - 1)
    return info


def _int_mask(info, done):
    info["speed"], info["_speed"] = np.zeros(len(done)), np.ones(len(done), dtype=np.int64)
    return info


SAME, NEXT, OFF = AutoresetMode.SAME_STEP, AutoresetMode.NEXT_STEP, AutoresetMode.DISABLED
BROKEN = {  # name: (inner env's mode, or (behaves, declares) modes, Tamper kwargs, rule it breaks)
    "wrong _final_obs mask": (
        SAME,
        {"step_fn": _with_info(_flip_final_mask)},
        "same_step.final_obs_mask",
    ),
    "SAME_STEP without final_obs": (
        SAME,
        {"step_fn": _with_info(_drop_final)},
        "same_step.final_keys",
    ),
    "SAME_STEP obs not reset": (SAME, {"step_fn": _not_reset}, "same_step.reset_obs"),
    "final_obs wrong shape": (
        SAME,
        {"step_fn": _with_info(_dense_wrong_shape)},
        "same_step.final_obs_shape",
    ),
    "NEXT_STEP nonzero reward on the reset step": (
        NEXT,
        {"step_fn": _reward_plus_one},
        "next_step.reset_step",
    ),
    "NEXT_STEP declared, SAME_STEP behaviour": ((SAME, NEXT), {}, "next_step.no_final_obs"),
    "NEXT_STEP declared, silent same-step reset": (
        (SAME, NEXT),
        {"step_fn": _with_info(_drop_final)},
        "next_step.reset_step",
    ),
    "DISABLED env that resets by itself": ((SAME, OFF), {}, "disabled.no_final_obs"),
    "reset_mask resets every env": (
        OFF,
        {"reset_fn": _reset_all_ignoring_mask},
        "disabled.reset_mask_untouched",
    ),
    "reset_mask ignored": (OFF, {"reset_fn": _ignore_mask}, "disabled.reset_mask_resets"),
    "wrong-length reset_mask accepted": (
        OFF,
        {"reset_fn": _truncate_mask},
        "disabled.reset_mask_validated",
    ),
    "non-enum autoreset_mode": (
        SAME,
        {"metadata": {"autoreset_mode": "SameStep"}},
        "autoreset_mode.enum",
    ),
    "metadata disagrees with env.autoreset_mode": (
        SAME,
        {"metadata": {"autoreset_mode": NEXT}},
        "autoreset_mode.attribute",
    ),
    "wrong obs dtype": (SAME, {"step_fn": _obs_float64}, "obs.dtype"),
    "reward of shape (n, 1)": (SAME, {"step_fn": _reward_column}, "reward.batch"),
    "integer terminated": (SAME, {"step_fn": _flags_int}, "flags.batch"),
    "info value of the wrong length": (SAME, {"step_fn": _with_info(_short_info)}, "info.batch"),
    "integer info mask": (SAME, {"step_fn": _with_info(_int_mask)}, "info.masks"),
    "reset ignores its seed": (SAME, {"reset_fn": _unseeded}, "reset.seeded"),
    "step writes into the obs it returned before": (
        SAME,
        {"step_fn": (b := _SharedBuffer()).step, "reset_fn": b.reset},
        "obs.not_mutated",
    ),
    "reset_mask writes into the obs step returned": (
        OFF,
        {"step_fn": (r := _ResetIntoLastStep()).step, "reset_fn": r.reset},
        "obs.not_mutated",
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_env_fails_naming_the_rule(name):
    modes, tamper, rule = BROKEN[name]
    env = Tamper(Misdeclared(*modes) if isinstance(modes, tuple) else sync_env(modes), **tamper)
    with pytest.raises(ContractViolation, match=rf"^\[{rule.replace('.', '[.]')}\]") as err:
        check_vector_env(env, steps=20)
    assert err.value.rule == rule and RULES[rule] in str(err.value)


def test_not_a_vector_env():
    with pytest.raises(ContractViolation, match=r"^\[vector_env\]"):
        check_vector_env(gymnasium.make("Pendulum-v1"))


def test_infinite_action_bounds_and_unbatched_spaces():
    env = sync_env(SAME)
    env.single_action_space = gymnasium.spaces.Box(-np.inf, np.inf, (1,), np.float32)
    env.action_space = gymnasium.vector.utils.batch_space(env.single_action_space, 3)
    with pytest.raises(ContractViolation, match=r"^\[spaces\.finite_actions\]"):
        check_vector_env(env)
    env = sync_env(SAME)
    env.observation_space = env.single_observation_space
    with pytest.raises(ContractViolation, match=r"^\[spaces\.batched\]"):
        check_vector_env(env)


def test_too_few_episode_ends():
    env = sync_env(SAME, lengths=(50, 50, 50))
    with pytest.raises(ContractViolation, match=r"^\[episode_ends\] 0 episode ends in 10 steps"):
        check_vector_env(env, steps=10, min_episode_ends=1)


def broken_vec(num_envs: int = 3, **kwargs):
    """vector_entry_point of the test id below: NEXT_STEP declared, reward 1 on the reset step."""
    return Tamper(sync_env(NEXT, lengths=(3,) * num_envs), step_fn=_reward_plus_one)


def test_cli_check_pass_and_fail(capsys):
    import smp_gym
    from smp_gym.cli import main

    assert smp_gym.check_vector_env is check_vector_env  # the lazy public export
    main(
        [
            "check",
            "Pendulum-v1",
            "--autoreset-mode",
            "Disabled",
            "--max-episode-steps",
            "3",
            "--steps",
            "8",
        ]
    )
    assert capsys.readouterr().out.strip() == (
        "PASS Pendulum-v1: the vector-env contract holds (Disabled, 4 envs, 8 steps, 8 episode ends checked)"
    )
    if "BrokenNextStep-v0" not in gymnasium.registry:
        gymnasium.register(
            "BrokenNextStep-v0", vector_entry_point="tests.unit.test_check:broken_vec"
        )
    with pytest.raises(SystemExit) as exit_:
        main(["check", "BrokenNextStep-v0", "--autoreset-mode", "NextStep", "--num-envs", "2"])
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert out.startswith(
        "FAIL BrokenNextStep-v0 (NextStep, 2 envs): [next_step.reset_step] env 0 ended"
    )


def test_cli_check_needs_an_episode_end(capsys):
    from smp_gym.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["check", "Pendulum-v1", "--steps", "5"])  # max_episode_steps 10 > 5 steps
    assert (
        exit_.value.code == 1
        and "[episode_ends] 0 episode ends in 5 steps" in capsys.readouterr().out
    )


def test_cli_check_vector_entry_point_in_another_mode(capsys):
    from smp_gym.cli import main

    with pytest.raises(
        SystemExit,
        match="runs in <AutoresetMode.NEXT_STEP: 'NextStep'>, not SameStep; pass "
        "--autoreset-mode NextStep or --vectorization-mode sync",
    ):
        main(["check", "CartPole-v1"])  # CartPoleVectorEnv: NEXT_STEP only
    main(
        [
            "check",
            "CartPole-v1",
            "--autoreset-mode",
            "NextStep",
            "--max-episode-steps",
            "4",
            "--steps",
            "10",
        ]
    )
    main(
        [
            "check",
            "CartPole-v1",
            "--vectorization-mode",
            "sync",
            "--max-episode-steps",
            "4",
            "--steps",
            "10",
        ]
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("PASS CartPole-v1:") and "(NextStep, 4 envs, 10 steps" in out[0]
    assert out[1].startswith("PASS CartPole-v1:") and "(SameStep, 4 envs, 10 steps" in out[1]
