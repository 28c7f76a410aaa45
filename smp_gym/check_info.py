"""The info rules of :func:`smp_gym.check.check_vector_env`: which keys Gymnasium defines and when
its reference ``SyncVectorEnv`` emits them, flat per-step info, episode statistics, and the
NEXT_STEP reset step's info. Each function returns ``None`` or a ``(rule, detail)`` problem, which
``check.py`` raises as a ``ContractViolation``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode

Problem = tuple[str, str] | None

INFO_RULES: dict[str, str] = {
    "info.flat": "info values are arrays/tensors, not nested dicts (except Gymnasium's final_info "
    "and a wrapper's nested_ok keys, e.g. RecordEpisodeStatistics' 'episode') nor object arrays, "
    "so TorchRL's GymWrapper reads them",
    "info.episode_stats": "episode statistics (a dict info['episode'] / info['smp_episode'], or "
    "flat keys 'smp_episode/<stat>') come with a mask ('_episode', '_smp_episode') equal to "
    "terminated | truncated, on every step where an env ends once seen",
    "same_step.final_only_on_end": "SAME_STEP: final_obs, _final_obs, final_info, _final_info "
    "appear only on steps where an env ends (as SyncVectorEnv emits them)",
    "same_step.final_info_is_step_info": "SAME_STEP: final_info is the ended envs' step info: "
    "every key the env returns on every step where no env ends is in it",
    "same_step.final_info_no_stats": "SAME_STEP: final_info carries no episode statistics "
    "(episode_keys): they live at the top level; a loop iterating final_info (CleanRL's) would "
    "meet them",
    "next_step.no_final_info": "NEXT_STEP: info never carries final_info/_final_info "
    "(SyncVectorEnv emits none; episode statistics come from RecordEpisodeStatistics)",
    "next_step.reset_info": "NEXT_STEP: on the step that resets an env, that env's obs and info "
    "are the reset's: the middle and the highest action from the same state give identical ones",
    "disabled.no_final_info": "DISABLED: info never carries final_info/_final_info",
    "reset.replay": "reset(seed=s) and the same actions reproduce the same terminated/truncated "
    "flags (next_step.reset_info replays an episode to compare two actions)",
}

GYMNASIUM_KEYS = ("final_obs", "_final_obs", "final_info", "_final_info")
"""The info keys Gymnasium's vector API defines (``SyncVectorEnv.step``)."""


def sync_vector_env_keys(mode: AutoresetMode, done: np.ndarray) -> frozenset[str]:
    """The keys of :data:`GYMNASIUM_KEYS` that Gymnasium's ``SyncVectorEnv`` puts in the info of a
    step whose ``terminated | truncated`` is ``done``: all four in SAME_STEP when an env ended,
    none otherwise (NEXT_STEP and DISABLED never)."""
    if mode is AutoresetMode.SAME_STEP and bool(np.any(done)):
        return frozenset(GYMNASIUM_KEYS)
    return frozenset()


def gymnasium_keys_problem(mode: AutoresetMode, done: np.ndarray, info: dict) -> Problem:
    """The Gymnasium keys in ``info`` against :func:`sync_vector_env_keys`, named per mode."""
    have, want = frozenset(k for k in GYMNASIUM_KEYS if k in info), sync_vector_env_keys(mode, done)
    if have == want:
        return None
    ended = np.flatnonzero(done).tolist()
    if mode is AutoresetMode.SAME_STEP:
        if want:
            return (
                "same_step.final_keys",
                f"envs {ended} ended but info lacks {sorted(want - have)}",
            )
        return "same_step.final_only_on_end", f"no env ended but info has {sorted(have)}"
    prefix = "next_step" if mode is AutoresetMode.NEXT_STEP else "disabled"
    if have & {"final_obs", "_final_obs"}:
        return f"{prefix}.no_final_obs", f"info has {sorted(have & {'final_obs', '_final_obs'})}"
    return f"{prefix}.no_final_info", f"info has {sorted(have)} (envs {ended} ended)"


def flat_problem(info: dict, nested_ok: tuple[str, ...], path: str = "info") -> Problem:
    """A nested dict outside ``final_info`` and ``nested_ok``, or an object array outside
    ``final_obs``, anywhere in ``info`` (``final_info`` is checked by the same rule)."""
    for key, value in info.items():
        if isinstance(value, dict):
            if key == "final_info":
                problem = flat_problem(value, nested_ok, f"{path}[{key!r}]")
                if problem:
                    return problem
            elif key not in nested_ok:
                return "info.flat", (
                    f"{path}[{key!r}] is a nested dict (keys {sorted(value)[:6]}), which TorchRL's "
                    f"GymWrapper cannot read; give each value its own flat key, e.g. "
                    f"'{key}/{next(iter(value), 'x')}' (one mask '_{key}' may govern them), or list "
                    f"{key!r} in nested_ok={nested_ok} if a wrapper adds it"
                )
        elif key != "final_obs" and getattr(value, "dtype", None) == np.dtype(object):
            return "info.flat", f"{path}[{key!r}] is an object array"
    return None


def has_key(info: dict, key: str) -> bool:
    """``key`` is in ``info``, as a key or as the prefix of flat keys ``key/<name>``."""
    return key in info or any(k.startswith(key + "/") for k in info)


def stats_masks(info: dict, key: str) -> dict[str, Any]:
    """The masks of the episode statistics ``key``: ``_key`` (a dict, or one mask for flat keys
    ``key/<stat>``), else Gymnasium's mask per flat key, ``_key/<stat>``; None where missing."""
    if key in info or f"_{key}" in info:
        return {f"_{key}": info.get(f"_{key}")}
    return {f"_{k}": info.get(f"_{k}") for k in info if k.startswith(key + "/")}


class EpisodeStats:
    """Tracks the episode-statistics keys (``info.episode_stats``) over a check."""

    def __init__(self, episode_keys: tuple[str, ...]) -> None:
        self.keys, self.seen, self.missed = episode_keys, set(), {}

    def step(self, step: int, done: np.ndarray, info: dict, to_np) -> Problem:
        for key in self.keys:
            if not has_key(info, key):
                if done.any():
                    self.missed.setdefault(key, step)
                continue
            self.seen.add(key)
            for name, mask in stats_masks(info, key).items():
                mask = to_np(mask) if mask is not None else None
                if mask is None or mask.shape != done.shape or not np.array_equal(mask, done):
                    got = "missing" if mask is None else mask.tolist()
                    return "info.episode_stats", (
                        f"step {step}: info[{name!r}] is {got}, terminated | truncated "
                        f"= {done.tolist()}"
                    )
        return None

    def finish(self) -> Problem:
        for key in sorted(self.seen & set(self.missed)):
            return "info.episode_stats", (
                f"info[{key!r}] appears on some ending steps but not on step {self.missed[key]}, "
                "where an env ended"
            )
        return None


def final_info_problem(step_keys: set[str] | None, final_keys: list[set[str]]) -> Problem:
    """SAME_STEP: ``step_keys`` (the keys on every no-end step) must all be in each ending step's
    ``final_info`` keys (``final_keys``)."""
    if step_keys is None:
        return None
    for keys in final_keys:
        missing = sorted(step_keys - keys)
        if missing:
            return "same_step.final_info_is_step_info", (
                f"final_info has keys {sorted(keys)}; the step info has {sorted(step_keys)} on "
                f"every step where no env ends, so final_info lacks {missing}"
            )
    return None


def public_keys(info: dict) -> set[str]:
    """Info keys that are neither masks nor Gymnasium's."""
    return {k for k in info if not k.startswith("_") and k not in GYMNASIUM_KEYS}


class InfoRules:
    """The info rules that look across the steps of one check: Gymnasium's keys per mode, flat
    values, episode statistics, and what SAME_STEP's final_info holds. Each call returns the
    first problem or None."""

    def __init__(
        self, mode: AutoresetMode, episode_keys: tuple[str, ...], nested_ok: tuple[str, ...]
    ) -> None:
        self.mode, self.nested_ok = mode, nested_ok
        self.stats = EpisodeStats(episode_keys)
        self.step_keys: set[str] | None = None  # keys on every step where no env ended
        self.final_keys: list[set[str]] = []  # final_info's keys on each ending step

    def reset(self, info: dict) -> Problem:
        return flat_problem(info, self.nested_ok)

    def step(self, t: int, done: np.ndarray, info: dict, to_np) -> Problem:
        problem = (
            gymnasium_keys_problem(self.mode, done, info)
            or flat_problem(info, self.nested_ok)
            or self.stats.step(t, done, info, to_np)
        )
        if not done.any():
            keys = public_keys(info)
            self.step_keys = keys if self.step_keys is None else self.step_keys & keys
        elif isinstance(info.get("final_info"), dict):
            self.final_keys.append(public_keys(info["final_info"]))
            problem = problem or self._stats_in_final(t, info["final_info"])
        return problem

    def _stats_in_final(self, t: int, final: dict) -> Problem:
        found = sorted(k for k in final if any(has_key({k: 0}, key) for key in self.stats.keys))
        if found:
            return "same_step.final_info_no_stats", (
                f"step {t}: final_info has {found[:4]}; keep episode statistics at the top level "
                "of the info (CleanRL's loop, iterating final_info, finds 'episode' in them)"
            )
        return None

    def finish(self) -> Problem:
        if self.mode is AutoresetMode.SAME_STEP:
            return self.stats.finish() or final_info_problem(self.step_keys, self.final_keys)
        return self.stats.finish()


# ---------------------------------------------------------------- NEXT_STEP reset step


def _flatten(info: dict, to_np, prefix: str = "") -> dict[str, np.ndarray]:
    out = {}
    for key, value in info.items():
        if isinstance(value, dict):
            out.update(_flatten(value, to_np, f"{prefix}{key}/"))
        else:
            out[f"{prefix}{key}"] = to_np(value)
    return out


def _masks_of(key: str) -> set[str]:
    """The masks that may govern the flat key ``key`` = 'a/b/c': '_a', 'a/_b', 'a/b/_c' (nested
    dicts) and '_a/b', '_a/b/c' (Gymnasium's mask per flat key)."""
    parts = key.split("/")
    nested = {"/".join([*parts[:d], "_" + parts[d]]) for d in range(len(parts))}
    flat = {"_" + "/".join(parts[: d + 1]) for d in range(len(parts))}
    return (nested | flat) - {key}


def _live_rows(flat: dict, key: str, rows: np.ndarray) -> np.ndarray:
    """The rows of ``rows`` where no mask governing ``key`` is False: the rows whose value means
    something (a mask itself means something where it is True)."""
    live = np.ones(len(rows), dtype=bool)
    for mask in _masks_of(key) & set(flat):
        if flat[mask].shape[:1] == flat[key].shape[:1]:
            live &= flat[mask][rows].astype(bool)
    if any(part.startswith("_") for part in key.split("/")):
        live &= flat[key][rows].astype(bool)
    return rows[live]


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" and b.dtype.kind in "fc":
        return np.array_equal(a, b, equal_nan=True)
    return np.array_equal(a, b)


def extreme_actions(space: gymnasium.Space, n: int, high: bool) -> Any:
    """A batch of ``n`` actions at the top (``high``) or the middle of ``space`` (Box: the bounds'
    midpoint; Discrete: the first action)."""
    if isinstance(space, gymnasium.spaces.Box):
        one = space.high if high else (space.low + space.high) / 2
        return np.broadcast_to(one, (n, *space.shape)).astype(space.dtype)
    if isinstance(space, gymnasium.spaces.Discrete):
        return np.full(n, space.start + (space.n - 1 if high else 0), dtype=space.dtype)
    sampler = gymnasium.vector.utils.batch_space(space, n)
    sampler.seed(int(high))
    return sampler.sample()


def restart_step(env, seed: int, plan: list, high: bool, to_np) -> tuple | None:
    """reset(seed), step ``plan`` until an env ends, then step once more with extreme actions.
    Returns (steps taken, flags per step, restarting mask, obs, info) or None (no env ended)."""
    env.reset(seed=seed)
    flags = []
    for t, actions in enumerate(plan):
        _, _, term, trunc, _ = env.step(actions)
        done = to_np(term) | to_np(trunc)
        flags.append(done)
        if done.any():
            obs, _, _, _, info = env.step(extreme_actions(env.single_action_space, len(done), high))
            return t + 1, flags, done, to_np(obs), _flatten(info, to_np)
    return None


def reset_info(env, seed: int, plan: list, to_np) -> tuple[Problem, int]:
    """NEXT_STEP: replay the first episode end of ``plan`` twice, restarting with the middle and
    the highest actions; the restarting envs' obs and info must not differ. Returns the problem
    and how many restarting envs were compared."""
    mid = restart_step(env, seed, plan, high=False, to_np=to_np)
    if mid is None:
        return None, 0
    high = restart_step(env, seed, plan[: mid[0]], high=True, to_np=to_np)
    if high is None:
        return (
            "reset.replay",
            f"after reset(seed={seed}) and the same {mid[0]} actions no env ended the second time",
        ), 0
    return reset_info_problem(mid, high), int(mid[2].sum())


def reset_info_problem(a: tuple, b: tuple) -> Problem:
    """Compare the restarting envs' obs and info rows of two :func:`restart_step` runs that differ
    only in the last step's actions."""
    for t, (fa, fb) in enumerate(zip(a[1], b[1], strict=True)):
        if not np.array_equal(fa, fb):
            return "reset.replay", (
                f"after reset(seed) and the same actions, step {t} ended envs "
                f"{np.flatnonzero(fa).tolist()} in one run and {np.flatnonzero(fb).tolist()} in "
                "the other"
            )
    rows = np.flatnonzero(a[2])
    for i in rows:
        if not _same(a[3][i], b[3][i]):
            return "next_step.reset_info", (
                f"env {i} ended on step {a[0] - 1}; on the next (reset) step its obs differs "
                "between the middle and the highest action"
            )
    for key in sorted(set(a[4]) | set(b[4])):
        live = [_live_rows(run[4], key, rows) if key in run[4] else rows[:0] for run in (a, b)]
        if not np.array_equal(*live):
            return "next_step.reset_info", (
                f"env(s) {rows.tolist()} reset on step {a[0]}: info[{key!r}] is present for "
                f"envs {live[0].tolist()} with the middle action, {live[1].tolist()} with the "
                "highest"
            )
        for i in live[0]:
            va, vb = a[4][key][i], b[4][key][i]
            if not _same(np.asarray(va), np.asarray(vb)):
                return "next_step.reset_info", (
                    f"env {i} reset on step {a[0]}, yet its info[{key!r}] depends on the "
                    f"discarded action: {va} with the middle action, {vb} with the highest"
                )
    return None
