"""A contract checker for Gymnasium vector envs (Gymnasium 1.x ships none for VectorEnv).

``check_vector_env(env)`` steps any ``gymnasium.vector.VectorEnv`` (numpy or torch) and raises
``AssertionError`` with a precise message on the first violation: spaces vs returned arrays,
dtypes, batch sizes, the autoreset-mode declaration, ``final_obs``/``final_info`` masks under
SAME_STEP, per-env info lengths, and seeded reset reproducibility.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
from gymnasium.vector import AutoresetMode


def _np(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _check_batch(name: str, value: Any, n: int, dtype=None) -> np.ndarray:
    arr = _np(value)
    assert arr.shape[:1] == (n,), f"{name}: leading dim {arr.shape[:1]} != num_envs ({n})"
    if dtype is not None:
        assert arr.dtype == dtype, f"{name}: dtype {arr.dtype}, expected {dtype}"
    return arr


def _check_info(info: dict, n: int, path: str = "info") -> None:
    for key, value in info.items():
        if isinstance(value, dict):
            _check_info(value, n, f"{path}[{key!r}]")
        else:
            arr = _check_batch(f"{path}[{key!r}]", value, n)
            if key.startswith("_"):
                assert arr.dtype == bool, f"{path}[{key!r}]: masks must be bool, got {arr.dtype}"


def check_vector_env(env: gymnasium.vector.VectorEnv, steps: int = 20, seed: int = 0, action_scale: float = 0.1) -> None:
    u = env.unwrapped
    assert isinstance(u, gymnasium.vector.VectorEnv), f"{type(u).__name__} is not a gymnasium.vector.VectorEnv"
    mode = u.metadata.get("autoreset_mode")
    assert isinstance(mode, AutoresetMode), f"metadata['autoreset_mode'] must be an AutoresetMode, got {mode!r}"
    n = u.num_envs
    space = env.single_observation_space
    assert env.observation_space.shape == (n, *space.shape), "observation_space is not the batched single space"
    low, high = env.single_action_space.low, env.single_action_space.high
    assert np.isfinite(low).all() and np.isfinite(high).all(), "action bounds must be finite"
    obs, info = env.reset(seed=seed)
    obs0 = _check_batch("reset obs", obs, n, space.dtype).copy()
    assert obs0.shape[1:] == space.shape, f"obs shape {obs0.shape[1:]} != {space.shape}"
    _check_info(info, n)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = np.clip(rng.standard_normal((n, *low.shape)) * action_scale, low, high).astype(np.float32)
        obs, reward, terminated, truncated, info = env.step(actions)
        o = _check_batch("obs", obs, n, space.dtype)
        assert o.shape[1:] == space.shape and np.isfinite(o).all(), "step obs has the wrong shape or NaN/inf"
        _check_batch("reward", reward, n)
        term, trunc = _check_batch("terminated", terminated, n, bool), _check_batch("truncated", truncated, n, bool)
        _check_info(info, n)
        done = term | trunc
        if mode is AutoresetMode.SAME_STEP and done.any():
            for key in ("final_obs", "_final_obs", "final_info", "_final_info"):
                assert key in info, f"SAME_STEP env ended envs {np.flatnonzero(done)} but info lacks {key!r}"
            assert np.array_equal(_np(info["_final_obs"]), done), "_final_obs mask != terminated | truncated"
            final = _np(info["final_obs"])
            assert final.shape == o.shape, f"final_obs shape {final.shape} != obs shape {o.shape}"
        elif mode is AutoresetMode.SAME_STEP:
            assert "final_obs" not in info, "final_obs reported although no env ended"
    again, _ = env.reset(seed=seed)
    assert np.array_equal(_np(again), obs0), "reset(seed) is not reproducible"
