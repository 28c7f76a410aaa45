"""A contract checker for Gymnasium vector envs (Gymnasium 1.x ships none for ``VectorEnv``).

``check_vector_env(env)`` resets and steps any ``gymnasium.vector.VectorEnv`` (numpy or torch
arrays, any device, wrapped or not) in the autoreset mode it declares and raises
:class:`ContractViolation` on the first broken rule. The message starts with the rule's id in
brackets (``[same_step.final_obs_mask] ...``); :data:`RULES` lists every rule.

The mode-specific rules only run when an episode ends during the check, so give the env short
episodes (``max_episode_steps`` / ``episode_length_s``) or more ``steps``; the returned
:class:`CheckReport` says how many episode ends were checked.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode

from smp_gym import check_info
from smp_gym.check_info import INFO_RULES

RULES: dict[str, str] = {
    "vector_env": "env.unwrapped is a gymnasium.vector.VectorEnv",
    "autoreset_mode.enum": "metadata['autoreset_mode'] is an AutoresetMode instance (not a string)",
    "autoreset_mode.attribute": "env.autoreset_mode, where the env has one, equals metadata['autoreset_mode']",
    "spaces.batched": "observation_space/action_space are the single spaces batched num_envs times",
    "spaces.finite_actions": "Box action bounds are finite",
    "obs.batch": "observations have shape (num_envs, *single_observation_space.shape)",
    "obs.dtype": "observations have the observation space's dtype",
    "obs.finite": "observations are finite and inside the observation space's bounds",
    "obs.not_mutated": "an observation array returned by step()/reset() is not changed by later calls "
    "(collectors keep references to it)",
    "reward.batch": "rewards are a float array of shape (num_envs,)",
    "flags.batch": "terminated/truncated are bool arrays of shape (num_envs,)",
    "info.batch": "every info value (nested dicts included) has leading dim num_envs",
    "info.masks": "every info mask '_k' is a bool array of shape (num_envs,) next to its key 'k' "
    "(or the flat keys 'k/<name>' it governs)",
    "same_step.final_keys": "SAME_STEP: a step where envs end has final_obs, _final_obs, final_info, _final_info",
    "same_step.final_obs_mask": "SAME_STEP: _final_obs and _final_info equal terminated | truncated",
    "same_step.final_obs_shape": "SAME_STEP: final_obs rows of ended envs have the single obs shape and dtype",
    "same_step.reset_obs": "SAME_STEP: the obs returned for an ended env is its reset obs, not final_obs",
    "next_step.no_final_obs": "NEXT_STEP: info never carries final_obs (the step's obs is the final obs)",
    "next_step.reset_step": "NEXT_STEP: the step after an env ends returns reward 0, terminated and "
    "truncated False for that env",
    "next_step.reset_obs": "NEXT_STEP: that step returns a new (reset) obs for that env",
    "disabled.no_final_obs": "DISABLED: stepping never resets by itself (no final_obs in info)",
    "disabled.reset_mask_untouched": "DISABLED: reset(options={'reset_mask': m}) leaves the obs of envs "
    "outside m untouched",
    "disabled.reset_mask_resets": "DISABLED: reset(options={'reset_mask': m}) resets the envs in m (new obs)",
    "disabled.reset_mask_validated": "DISABLED: a reset_mask of the wrong length raises an error",
    "reset.seeded": "reset(seed=s) twice returns the same observations",
    "episode_ends": "at least min_episode_ends sub-env episodes ended, so the autoreset rules ran",
    **INFO_RULES,
}


class ContractViolation(AssertionError):
    """A vector env broke a rule of :data:`RULES`. ``.rule`` is the rule's id."""

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        super().__init__(f"[{rule}] {detail} (rule: {RULES[rule]})")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckReport:
    """What :func:`check_vector_env` exercised."""

    autoreset_mode: AutoresetMode
    num_envs: int
    steps: int
    episode_ends: int
    """Sub-env episode ends whose autoreset rules were checked."""
    restarts_compared: int = 0
    """NEXT_STEP: restarting envs whose reset-step obs and info were compared across two actions."""

    def summary(self) -> str:
        restarts = (
            f", {self.restarts_compared} reset steps compared" if self.restarts_compared else ""
        )
        return (
            f"{self.autoreset_mode.value}, {self.num_envs} envs, {self.steps} steps, "
            f"{self.episode_ends} episode ends checked{restarts}"
        )


def _require(ok: Any, rule: str, detail: str) -> None:
    if not bool(ok):
        raise ContractViolation(rule, detail)


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _batch(name: str, value: Any, n: int, rule: str) -> np.ndarray:
    arr = _np(value)
    _require(
        arr.ndim >= 1 and arr.shape[0] == n,
        rule,
        f"{name}: shape {arr.shape}, expected leading dim num_envs={n}",
    )
    return arr


def _check_obs(name: str, value: Any, n: int, space: gymnasium.Space) -> np.ndarray:
    arr = _batch(name, value, n, "obs.batch")
    _require(
        arr.shape[1:] == space.shape,
        "obs.batch",
        f"{name}: shape {arr.shape}, expected ({n}, *{space.shape})",
    )
    _require(
        arr.dtype == space.dtype,
        "obs.dtype",
        f"{name}: dtype {arr.dtype}, observation space says {space.dtype}",
    )
    if isinstance(space, gymnasium.spaces.Box):
        inside = np.isfinite(arr).all() and (arr >= space.low).all() and (arr <= space.high).all()
        _require(inside, "obs.finite", f"{name}: NaN/inf or values outside [low, high]")
    return arr.copy()


def _check_info(info: dict, n: int, path: str = "info") -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            _check_info(value, n, f"{path}[{key!r}]")
            continue
        arr = _batch(f"{path}[{key!r}]", value, n, "info.batch")
        if key.startswith("_"):
            _require(
                arr.shape == (n,) and arr.dtype == bool,
                "info.masks",
                f"{path}[{key!r}]: shape {arr.shape} dtype {arr.dtype}, expected ({n},) bool",
            )
            _require(
                check_info.has_key(info, key[1:]),
                "info.masks",
                f"{path}[{key!r}] is a mask without a key {key[1:]!r} (or {key[1:]!r}/...)",
            )


def _actions(env, rng: np.random.Generator, scale: float) -> np.ndarray:
    space = env.single_action_space
    if not isinstance(space, gymnasium.spaces.Box):
        return env.action_space.sample()
    a = rng.standard_normal((env.num_envs, *space.shape)) * scale
    return np.clip(a, space.low, space.high).astype(space.dtype)


def _check_mode(env) -> AutoresetMode:
    u = env.unwrapped
    _require(
        isinstance(u, gymnasium.vector.VectorEnv),
        "vector_env",
        f"{type(u).__name__} is not a VectorEnv",
    )
    mode = env.metadata.get("autoreset_mode")
    _require(
        isinstance(mode, AutoresetMode),
        "autoreset_mode.enum",
        f"metadata['autoreset_mode'] is {mode!r}; use one of {[m for m in AutoresetMode]}",
    )
    attr = getattr(u, "autoreset_mode", mode)
    _require(
        attr == mode,
        "autoreset_mode.attribute",
        f"env.autoreset_mode is {attr!r}, metadata says {mode!r}",
    )
    return mode


def _check_spaces(env, n: int) -> None:
    for kind in ("observation", "action"):
        single, batched = getattr(env, f"single_{kind}_space"), getattr(env, f"{kind}_space")
        expected = gymnasium.vector.utils.batch_space(single, n)
        _require(
            batched.shape == expected.shape,
            "spaces.batched",
            f"{kind}_space shape {batched.shape}, expected {expected.shape}",
        )
    space = env.single_action_space
    if isinstance(space, gymnasium.spaces.Box):
        _require(
            np.isfinite(space.low).all() and np.isfinite(space.high).all(),
            "spaces.finite_actions",
            f"action bounds low={space.low} high={space.high}",
        )


def _final_rows(final: Any, idx: np.ndarray, n: int, space: gymnasium.Space) -> np.ndarray:
    """final_obs rows of the envs ``idx``: Gymnasium's object array (None where not ended) or a
    dense (num_envs, *obs_shape) array/tensor."""
    if isinstance(final, np.ndarray) and final.dtype == object:
        _require(
            final.shape == (n,),
            "same_step.final_obs_shape",
            f"final_obs object array shape {final.shape}",
        )
        rows = [np.asarray(final[i]) for i in idx]
        for i, row in zip(idx, rows, strict=True):
            _require(
                row.shape == space.shape and row.dtype == space.dtype,
                "same_step.final_obs_shape",
                f"final_obs[{i}]: shape {row.shape} dtype {row.dtype}, expected {space.shape} {space.dtype}",
            )
        return np.stack(rows)
    arr = _np(final)
    _require(
        arr.shape == (n, *space.shape) and arr.dtype == space.dtype,
        "same_step.final_obs_shape",
        f"final_obs: shape {arr.shape} dtype {arr.dtype}, expected ({n}, *{space.shape}) {space.dtype}",
    )
    return arr[idx]


def _check_same_step(obs: np.ndarray, done: np.ndarray, info: dict, n: int, space) -> None:
    if not done.any():
        return
    for key in ("_final_obs", "_final_info"):
        mask = _np(info[key])
        _require(
            mask.shape == done.shape and np.array_equal(mask, done),
            "same_step.final_obs_mask",
            f"info[{key!r}] = {mask.tolist()}, terminated | truncated = {done.tolist()}",
        )
    idx = np.flatnonzero(done)
    final = _final_rows(info["final_obs"], idx, n, space)
    for row, i in zip(final, idx, strict=True):
        _require(
            not np.array_equal(row, obs[i]),
            "same_step.reset_obs",
            f"env {i} ended but the returned obs equals final_obs (it was not reset)",
        )


def _check_next_step(pending: np.ndarray, obs, prev, reward, term, trunc) -> None:
    for i in np.flatnonzero(pending):
        _require(
            reward[i] == 0 and not term[i] and not trunc[i],
            "next_step.reset_step",
            f"env {i} ended on the previous step; this step returned reward={reward[i]}, "
            f"terminated={term[i]}, truncated={trunc[i]}",
        )
        _require(
            not np.array_equal(obs[i], prev[i]),
            "next_step.reset_obs",
            f"env {i} ended on the previous step but its obs did not change (not reset)",
        )


class _Returned:
    """The last obs object an env returned, and a copy of its values: a later call must not
    write into it."""

    def __init__(self, raw: Any, values: np.ndarray, call: str) -> None:
        self.raw, self.values, self.call = raw, values, call

    def check(self, later: str) -> None:
        _require(
            np.array_equal(_np(self.raw), self.values),
            "obs.not_mutated",
            f"the obs returned by {self.call} changed during the following {later}",
        )


def _check_reset_mask(env, done: np.ndarray, obs: np.ndarray, n: int, space, last: _Returned):
    raw, info = env.reset(options={"reset_mask": done.copy()})
    last.check("reset(options={'reset_mask': ...})")
    new = _check_obs("reset(reset_mask) obs", raw, n, space)
    _check_info(info, n)
    for i in range(n):
        if done[i]:
            _require(
                not np.array_equal(new[i], obs[i]),
                "disabled.reset_mask_resets",
                f"env {i} is in reset_mask={done.tolist()} but its obs did not change",
            )
        else:
            _require(
                np.array_equal(new[i], obs[i]),
                "disabled.reset_mask_untouched",
                f"env {i} is not in reset_mask={done.tolist()} but its obs changed",
            )
    return new, _Returned(raw, new, "reset(options={'reset_mask': ...})")


def _check_reset_mask_validated(env, n: int) -> None:
    try:
        env.reset(options={"reset_mask": np.ones(n + 1, dtype=bool)})
    except (ValueError, TypeError, AssertionError, IndexError, RuntimeError):
        return
    raise ContractViolation(
        "disabled.reset_mask_validated", f"reset_mask of shape ({n + 1},) was accepted"
    )


def _raise(problem: check_info.Problem) -> None:
    if problem is not None:
        raise ContractViolation(*problem)


def _check_reset_info(env, seed: int, steps: int, scale: float) -> int:
    """NEXT_STEP: the reset step's obs and info against two actions (check_info.py); returns how
    many restarting envs were compared."""
    rng = np.random.default_rng(seed + 1)
    plan = [_actions(env, rng, scale) for _ in range(steps)]
    problem, compared = check_info.reset_info(env, seed, plan, _np)
    _raise(problem)
    return compared


def _check_step(env, out, n: int, space, last: _Returned) -> tuple:
    """The batch rules of one step's results; returns (obs, reward, terminated, truncated)."""
    obs, reward, terminated, truncated, info = out
    last.check("step()")
    o = _check_obs("step obs", obs, n, space)
    r = _batch("reward", reward, n, "reward.batch")
    _require(
        r.shape == (n,) and np.issubdtype(r.dtype, np.floating),
        "reward.batch",
        f"reward: shape {r.shape} dtype {r.dtype}",
    )
    term, trunc = (
        _batch("terminated", terminated, n, "flags.batch"),
        _batch("truncated", truncated, n, "flags.batch"),
    )
    for name, flag in (("terminated", term), ("truncated", trunc)):
        _require(
            flag.shape == (n,) and flag.dtype == bool,
            "flags.batch",
            f"{name}: shape {flag.shape} dtype {flag.dtype}",
        )
    _check_info(info, n)
    return o, r, term, trunc


def check_vector_env(
    env: gymnasium.vector.VectorEnv,
    steps: int = 50,
    seed: int = 0,
    action_scale: float = 0.3,
    min_episode_ends: int = 0,
    episode_keys: tuple[str, ...] = ("episode", "smp_episode"),
    nested_ok: tuple[str, ...] = ("episode",),
) -> CheckReport:
    """Step ``env`` ``steps`` times with seeded random actions (Box: N(0, action_scale) clipped
    to the bounds) and check every rule of :data:`RULES` that applies to its autoreset mode.
    ``episode_keys``: the info keys of episode statistics (a dict or flat ``key/<stat>`` keys,
    with the mask ``_key``); ``nested_ok``: the info keys that may hold a dict (default:
    RecordEpisodeStatistics' ``episode``; every other value must be flat for TorchRL).

    Raises:
        ContractViolation: an ``AssertionError`` naming the broken rule (``.rule``), also when
            fewer than ``min_episode_ends`` episode ends happened (rule ``episode_ends``).
    """
    mode = _check_mode(env)
    n, space = env.unwrapped.num_envs, env.single_observation_space
    _check_spaces(env, n)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    first = prev = _check_obs("reset obs", obs, n, space)
    last, rules = (
        _Returned(obs, first, "reset(seed)"),
        check_info.InfoRules(mode, episode_keys, nested_ok),
    )
    _check_info(info, n)
    _raise(rules.reset(info))
    rng, pending, ends = np.random.default_rng(seed), np.zeros(n, dtype=bool), 0
    for t in range(steps):
        out = env.step(_actions(env, rng, action_scale))
        o, r, term, trunc = _check_step(env, out, n, space, last)
        last, info, done = _Returned(out[0], o, "step()"), out[4], term | trunc
        _raise(rules.step(t, done, info, _np))
        ends += int(done.sum())
        if mode is AutoresetMode.SAME_STEP:
            _check_same_step(o, done, info, n, space)
        elif mode is AutoresetMode.NEXT_STEP:
            _check_next_step(pending, o, prev, r, term, trunc)
            pending = done
        elif done.any():
            o, last = _check_reset_mask(env, done, o, n, space, last)
        prev = o
    _raise(rules.finish())
    if mode is AutoresetMode.DISABLED:
        _check_reset_mask_validated(env, n)
    if ends < min_episode_ends:
        raise ContractViolation(
            "episode_ends",
            f"{ends} episode ends in {steps} steps, wanted {min_episode_ends}: "
            "shorten the episodes (max_episode_steps / episode_length_s) or raise steps",
        )
    again, _ = env.reset(seed=seed)
    _require(
        np.array_equal(_np(again), first),
        "reset.seeded",
        f"reset(seed={seed}) returned different obs twice",
    )
    compared = (
        _check_reset_info(env, seed, steps, action_scale) if mode is AutoresetMode.NEXT_STEP else 0
    )
    return CheckReport(
        autoreset_mode=mode, num_envs=n, steps=steps, episode_ends=ends, restarts_compared=compared
    )
