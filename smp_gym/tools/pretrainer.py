"""The pretraining loop as an application: seeding, TensorBoard + CSV logs, a progress bar, a
resumable training checkpoint and early stopping, around the pure step
(:class:`smp_gym.prior.train.DiffusionTrainer`).

``RUN/last.pt`` (loadable with ``torch.load(weights_only=True)``) is written atomically every
``save_every`` steps. With held-out data the output prior is the one with the lowest held-out
loss (the last weights go to ``OUT.last.safetensors``); without, the last one.
"""

from __future__ import annotations

import csv
import math
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from smp_gym.files import atomic_write
from smp_gym.motion.dataset import WindowSet
from smp_gym.prior.checkpoint import save_prior
from smp_gym.prior.config import PretrainCfg
from smp_gym.prior.train import DiffusionTrainer


class Pretrainer:
    """Owns one pretraining run in ``run_dir``: the data (normalized on ``device``), the
    :class:`DiffusionTrainer`, the logs and the checkpoints."""

    def __init__(
        self,
        cfg: PretrainCfg,
        train: WindowSet,
        heldout: WindowSet | None,
        q_low: torch.Tensor,
        q_high: torch.Tensor,
        run_dir: Path,
        device: torch.device,
        provenance: dict | None = None,
    ) -> None:
        self.layout = train.layout
        model = replace(cfg.model, feature_dim=self.layout.feature_dim, window=self.layout.window)
        self.cfg = replace(cfg, model=model)
        self.device, self.run_dir = device, Path(run_dir)
        self.q_low, self.q_high = q_low.float(), q_high.float()
        self.x_train = self._normalize(train)
        self.x_heldout = self._normalize(heldout) if heldout is not None and len(heldout) else None
        self.train_clips, self.heldout_clips = _clip_names(train), _clip_names(heldout)
        torch.manual_seed(self.cfg.seed)  # the weights' initialization (and dropout) draw from it
        self.core = DiffusionTrainer(self.cfg, device)
        self.best = math.inf
        self.elapsed = 0.0
        self.provenance = dict(provenance or {})

    def _normalize(self, ws: WindowSet) -> torch.Tensor:
        """Windows [N, W, F] mapped to [-1, 1] by q_low/q_high, on the device."""
        lo, hi = self.q_low, self.q_high
        return (2 * (ws.windows - lo) / (hi - lo + 1e-8) - 1).to(self.device)

    @property
    def step(self) -> int:
        return self.core.step

    @property
    def model(self) -> torch.nn.Module:
        return self.core.model

    # -- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            **self.core.state_dict(),
            "best": self.best,
            "elapsed": self.elapsed,
            "torch_rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.core.load_state_dict(state)
        self.best, self.elapsed = float(state["best"]), float(state["elapsed"])
        torch.set_rng_state(state["torch_rng"])

    def save_training_checkpoint(self) -> Path:
        state = self.state_dict()
        return atomic_write(self.run_dir / "last.pt", lambda tmp: torch.save(state, tmp))

    def resume(self) -> bool:
        path = self.run_dir / "last.pt"
        if not path.is_file():
            return False
        self.load_state_dict(torch.load(path, map_location=self.device, weights_only=True))
        return True

    def export(self, path: Path, extra: dict | None = None) -> Path:
        meta = {
            **self.provenance,
            "train_clips": self.train_clips,
            "heldout_clips": self.heldout_clips,
            "step": self.step,
            "train_seconds": round(self.elapsed, 1),
            "pretrain_cfg": asdict(self.cfg),
            "torch": torch.__version__,
            "python": platform.python_version(),
            **(extra or {}),
        }
        return save_prior(
            path,
            self.core.weights,
            self.q_low,
            self.q_high,
            self.layout,
            self.cfg.num_timesteps,
            meta,
        )

    # -- loop ----------------------------------------------------------------------------
    def train(self, out: Path, progress: bool = True) -> dict:
        """Train to ``cfg.steps``; returns steps, best held-out loss and seconds."""
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        self.run_dir.mkdir(parents=True, exist_ok=True)
        writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step)
        csv_path = self.run_dir / "log.csv"
        new_csv = not csv_path.exists() or self.step == 0
        csv_file = open(csv_path, "w" if new_csv else "a", newline="")
        log = csv.writer(csv_file)
        if new_csv:
            log.writerow(["step", "train_loss", "heldout_loss", "seconds"])
        cfg = self.cfg
        bar = tqdm(
            total=cfg.steps, initial=self.step, desc="pretrain", unit="step", disable=not progress
        )
        running, seen, t_last = 0.0, 0, time.perf_counter()
        self.model.train()
        try:
            while self.step < cfg.steps:
                running += self.core.train_step(self.x_train).item()
                seen += 1
                now = time.perf_counter()
                self.elapsed += now - t_last
                t_last = now
                bar.update(1)
                if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                    self._log(out, running / seen, writer, log, bar)
                    csv_file.flush()
                    running, seen = 0.0, 0
                if self.step % cfg.save_every == 0:
                    self.save_training_checkpoint()
                    t_last = time.perf_counter()
        finally:
            bar.close()
            writer.close()
            csv_file.close()
        self.save_training_checkpoint()
        if self.x_heldout is None:
            self.export(out, {"selected": "last step"})
        else:  # the last weights, for comparison; OUT keeps the best held-out ones
            self.export(out.with_name(out.stem + ".last.safetensors"), {"selected": "last step"})
        return {
            "steps": self.step,
            "best_heldout_loss": self.best,
            "seconds": round(self.elapsed, 1),
        }

    def _log(self, out: Path, train_loss: float, writer, log, bar) -> None:
        """Held-out loss (and early stopping: OUT always holds the best held-out prior), logs."""
        held = math.nan
        if self.x_heldout is not None:
            held = self.core.heldout_loss(self.x_heldout)
            writer.add_scalar("loss/heldout", held, self.step)
            if held < self.best:
                self.best = held
                self.export(out, {"heldout_loss": held, "selected": "best held-out loss"})
        writer.add_scalar("loss/train", train_loss, self.step)
        log.writerow([self.step, f"{train_loss:.6f}", f"{held:.6f}", f"{self.elapsed:.1f}"])
        bar.set_postfix(loss=f"{train_loss:.4f}", heldout=f"{held:.4f}")


def _clip_names(ws: WindowSet | None) -> list[str]:
    if ws is None:
        return []
    present = sorted(set(ws.clip_index.tolist()))
    return [ws.clip_names[i] for i in present]
