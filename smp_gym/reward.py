"""The SMP reward: one home for the SDS scorer, its running normalizer, ``ws``, the SMP-based
termination and their saved state. Pure torch (no simulator import).

Every step ``SmpVectorEnv.step`` calls it once::

    raw, r_smp = env.reward(window_features, generator, valid)   # [N, K], [N]
    reward = env.reward.combine(task_reward, r_smp)
    terminated |= env.reward.terminated(raw, episode_length)
"""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.config import SmpRewardCfg
from smp_gym.errors import ConfigError
from smp_gym.prior.checkpoint import Prior
from smp_gym.prior.score import SdsNormalizer, SdsScorer
from smp_gym.task import SmpTermination


def smp_reward(err: Tensor, ws: float) -> Tensor:
    """``exp(-ws · mean_k err_k)``. err: [N, K] (normalized or raw SDS errors) -> [N] in (0, 1]."""
    return torch.exp(-ws * err.mean(dim=-1))


def combine(task: Tensor, smp: Tensor, cfg: SmpRewardCfg) -> Tensor:
    """``task × smp`` (mode ``product``) or ``task_weight·task + smp_weight·smp``. Shapes: [N]."""
    if cfg.mode == "product":
        return task * smp
    return cfg.task_weight * task + cfg.smp_weight * smp


class SmpReward:
    """The frozen prior's SDS error turned into ``r_smp``, and everything that depends on it."""

    def __init__(
        self,
        prior: Prior,
        cfg: SmpRewardCfg,
        termination: SmpTermination | None = None,
        *,
        compile: bool = False,
    ) -> None:
        self.cfg = cfg
        self.termination = termination
        self.scorer = SdsScorer(prior, cfg.timesteps, compile=compile)
        self.normalizer = SdsNormalizer(
            len(cfg.timesteps), prior.device, cfg.normalizer_max_count, cfg.normalizer_min
        )

    def __call__(
        self,
        features: Tensor,
        generator: torch.Generator | None = None,
        valid: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """Score windows [N, W, F]; returns (raw SDS error [N, K], r_smp [N]). Rows where
        ``valid`` [N] is False (blown-up physics, a reset step) stay out of the running mean,
        which is updated *before* it normalizes this step's errors. Tensor ops only."""
        raw = self.scorer(features, generator)
        if not self.cfg.normalize:
            return raw, smp_reward(raw, self.cfg.ws)
        self.normalizer.record(raw, valid)
        self.normalizer.update()
        return raw, smp_reward(self.normalizer.normalize(raw), self.cfg.ws)

    def combine(self, task: Tensor, r_smp: Tensor) -> Tensor:
        return combine(task, r_smp, self.cfg)

    def terminated(self, raw: Tensor, episode_length: Tensor) -> Tensor:
        """The SMP termination of this step's raw error [N, K] (all False without one). [N] bool."""
        t = self.termination
        if t is None:
            return torch.zeros(raw.shape[0], dtype=torch.bool, device=raw.device)
        return (torch.exp(-t.ws * raw.mean(dim=1)) < t.threshold) & (
            episode_length >= t.grace_steps
        )

    def state_dict(self) -> dict:
        return {"normalizer": self.normalizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state, dict) or "normalizer" not in state:
            got = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ConfigError(
                f"SmpReward.load_state_dict: received {got}; expected a dict with key "
                "'normalizer' (from env.state_dict()['reward'])."
            )
        self.normalizer.load_state_dict(state["normalizer"])
