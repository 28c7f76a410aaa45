"""Pretraining a motion prior: L1 ε-prediction on normalized feature windows (SEED_SPEC §2.4).

Logs to TensorBoard and CSV, shows a progress bar, writes a resumable training checkpoint
(``last.pt``, loadable with ``torch.load(weights_only=True)``) atomically every
``save_every`` steps. With held-out data the output prior is the one with the lowest held-out
loss (early stopping; the last weights go to ``OUT.last.safetensors``); without, the last one.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import shlex
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F

from smp_gym.errors import ConfigError
from smp_gym.files import atomic_write
from smp_gym.motion.dataset import WindowSet
from smp_gym.prior.checkpoint import save_prior
from smp_gym.prior.config import PretrainCfg
from smp_gym.prior.denoiser import Denoiser
from smp_gym.prior.schedule import DdpmSchedule


def diffusion_loss(
    model: Denoiser,
    schedule: DdpmSchedule,
    x0: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    focus_max_t: int = 0,
) -> torch.Tensor:
    """Mean L1 between predicted and true noise over k (t, ε) draws per window. x0: [B, W, F]."""
    xk = x0.repeat(k, 1, 1)
    n = xk.shape[0]
    t = torch.randint(0, schedule.num_timesteps, (n,), device=x0.device, generator=generator)
    if focus_max_t > 0:
        low = torch.randint(0, focus_max_t + 1, (n,), device=x0.device, generator=generator)
        t = torch.where(torch.arange(n, device=x0.device) % 2 == 0, low, t)
    eps = torch.randn(xk.shape, device=x0.device, generator=generator)
    return F.l1_loss(model(schedule.add_noise(xk, eps, t), t), eps)


@torch.no_grad()
def heldout_loss(
    model, schedule, x0: torch.Tensor, k: int = 4, seed: int = 1234, chunk: int = 2048
) -> float:
    """Deterministic (fixed noise) held-out L1 loss."""
    model.eval()
    g = torch.Generator(device=x0.device).manual_seed(seed)
    total, n = 0.0, 0
    for i in range(0, x0.shape[0], chunk):
        part = x0[i : i + chunk]
        total += diffusion_loss(model, schedule, part, k, g).item() * part.shape[0]
        n += part.shape[0]
    model.train()
    return total / max(n, 1)


class Pretrainer:
    """Owns the model, optimizer and logs of one pretraining run in ``run_dir``."""

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
        self.cfg = replace(
            cfg,
            model=replace(
                cfg.model, feature_dim=self.layout.feature_dim, window=self.layout.window
            ),
        )
        self.device = device
        self.run_dir = Path(run_dir)
        self.q_low, self.q_high = q_low.float(), q_high.float()
        norm = lambda ws: (2 * (ws.windows - q_low) / (q_high - q_low + 1e-8) - 1).to(device)  # noqa: E731
        self.x_train = norm(train)
        self.x_heldout = norm(heldout) if heldout is not None and len(heldout) else None
        self.train_clips, self.heldout_clips = _clip_names(train), _clip_names(heldout)
        torch.manual_seed(self.cfg.seed)
        self.model = Denoiser(self.cfg.model).to(device)
        self.ema = (
            Denoiser(self.cfg.model).to(device).requires_grad_(False)
            if self.cfg.ema_decay
            else None
        )
        if self.ema is not None:
            self.ema.load_state_dict(self.model.state_dict())
        self.schedule = DdpmSchedule(self.cfg.num_timesteps, device)
        self.opt = torch.optim.AdamW(
            self.model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay
        )
        self.gen = torch.Generator(device=device).manual_seed(self.cfg.seed)
        self.step = 0
        self.best = math.inf
        self.elapsed = 0.0
        self.provenance = dict(provenance or {})

    # -- checkpoints ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "best": self.best,
            "elapsed": self.elapsed,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "optimizer": self.opt.state_dict(),
            "generator": self.gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "cfg_json": json.dumps(asdict(self.cfg)),
        }

    def load_state_dict(self, state: dict) -> None:
        saved = json.loads(state["cfg_json"])
        mine = asdict(self.cfg)
        keys = [
            "model",
            "batch_size",
            "noise_samples",
            "lr",
            "num_timesteps",
            "ema_decay",
            "seed",
            "focus_max_t",
            "lr_final_frac",
        ]
        if self.cfg.lr_final_frac < 1.0:  # the cosine schedule depends on the total step count
            keys.append("steps")
        for key in keys:
            if saved[key] != mine[key]:
                raise ConfigError(
                    f"--resume: the checkpoint was trained with {key}={saved[key]!r}, this run "
                    f"asks for {mine[key]!r}. Use the same settings, or start a new --run-dir."
                )
        self.step, self.best, self.elapsed = (
            int(state["step"]),
            float(state["best"]),
            float(state["elapsed"]),
        )
        self.model.load_state_dict(state["model"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        self.opt.load_state_dict(state["optimizer"])
        self.gen.set_state(state["generator"])
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
        weights = self.ema if self.ema is not None else self.model
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
            path, weights, self.q_low, self.q_high, self.layout, self.cfg.num_timesteps, meta
        )

    # -- loop ----------------------------------------------------------------------------
    def _lr(self) -> float:
        cfg = self.cfg
        frac = cfg.lr_final_frac + (1 - cfg.lr_final_frac) * 0.5 * (
            1 + math.cos(math.pi * self.step / cfg.steps)
        )
        return cfg.lr * frac

    def _ema_update(self) -> None:
        if self.ema is None:
            return
        d = self.cfg.ema_decay
        with torch.no_grad():
            for pe, p in zip(self.ema.parameters(), self.model.parameters(), strict=True):
                pe.lerp_(p, 1.0 - d)

    def train(self, out: Path, progress: bool = True) -> dict:
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
        cfg, n = self.cfg, self.x_train.shape[0]
        bar = tqdm(
            total=cfg.steps, initial=self.step, desc="pretrain", unit="step", disable=not progress
        )
        running, seen, t_last = 0.0, 0, time.perf_counter()
        self.model.train()
        try:
            while self.step < cfg.steps:
                idx = torch.randint(
                    0, n, (min(cfg.batch_size, n),), device=self.device, generator=self.gen
                )
                for group in self.opt.param_groups:
                    group["lr"] = self._lr()
                loss = diffusion_loss(
                    self.model,
                    self.schedule,
                    self.x_train[idx],
                    cfg.noise_samples,
                    self.gen,
                    cfg.focus_max_t,
                )
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                self.opt.step()
                self._ema_update()
                self.step += 1
                running += loss.item()
                seen += 1
                now = time.perf_counter()
                self.elapsed += now - t_last
                t_last = now
                bar.update(1)
                if self.step % cfg.eval_every == 0 or self.step == cfg.steps:
                    train_loss = running / seen
                    running, seen = 0.0, 0
                    held = math.nan
                    if self.x_heldout is not None:
                        held = heldout_loss(self.ema or self.model, self.schedule, self.x_heldout)
                        writer.add_scalar("loss/heldout", held, self.step)
                        if (
                            held < self.best
                        ):  # early stopping: OUT always holds the best held-out prior
                            self.best = held
                            self.export(
                                out, {"heldout_loss": held, "selected": "best held-out loss"}
                            )
                    writer.add_scalar("loss/train", train_loss, self.step)
                    log.writerow(
                        [self.step, f"{train_loss:.6f}", f"{held:.6f}", f"{self.elapsed:.1f}"]
                    )
                    csv_file.flush()
                    bar.set_postfix(loss=f"{train_loss:.4f}", heldout=f"{held:.4f}")
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


def _clip_names(ws: WindowSet | None) -> list[str]:
    if ws is None:
        return []
    present = sorted(set(ws.clip_index.tolist()))
    return [ws.clip_names[i] for i in present]


def command_line() -> str:
    """The command that started this process (recorded as provenance)."""
    return " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).name, *sys.argv[1:]])


def select_clips(clips, include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()):
    """Clips whose names match any ``include`` glob (all if empty) and no ``exclude`` glob."""
    from fnmatch import fnmatch

    from smp_gym.errors import MotionDataError

    chosen = [
        c
        for c in clips
        if (not include or any(fnmatch(c.name, p) for p in include))
        and not any(fnmatch(c.name, p) for p in exclude)
    ]
    if not chosen:
        raise MotionDataError(
            f"no clip matches include={list(include)} exclude={list(exclude)}; "
            f"clips: {[c.name for c in clips]}"
        )
    return chosen


def split_tail(clip, frac: float):
    """(head, tail) of a clip in time: the last ``frac`` of its frames become a held-out clip."""
    from smp_gym.motion.io import Clip

    cut = int(round(clip.num_frames * (1.0 - frac)))
    head = Clip(clip.name, clip.fps, clip.frames[:cut], clip.source)
    tail = Clip(f"{clip.name}[tail]", clip.fps, clip.frames[cut:], clip.source)
    return head, tail


def load_norm_stats(path: Path, layout):
    """q_low/q_high from a feature file (``smp-gym data features``) or fit on every clip of a folder."""
    from smp_gym.errors import MotionDataError
    from smp_gym.motion.dataset import build_windows, load_windows, norm_stats
    from smp_gym.motion.io import load_motions

    path = Path(path)
    if path.is_file() and path.suffix == ".npz":
        try:
            return load_windows(path)[1:]
        except MotionDataError:  # a motion NPZ, not a feature file
            pass
    return norm_stats(build_windows(load_motions(path, layout), layout).windows)


def run_pretrain(
    *,
    motions,
    out: Path,
    cfg: PretrainCfg,
    holdout: tuple[str, ...] = (),
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    mirror: bool = True,
    stride: int = 1,
    norm_stats: Path | None = None,
    run_dir: Path | None = None,
    resume: bool = False,
    device: str | None = None,
    progress: bool = True,
    holdout_tail: float = 0.0,
) -> dict:
    """Load motions, split whole clips (or their last ``holdout_tail`` fraction) into train and
    held-out sets, fit or load the normalizer, train."""
    from smp_gym.device import resolve_device
    from smp_gym.errors import MotionDataError
    from smp_gym.motion.dataset import MIN_RANGE, build_windows, narrow_dims
    from smp_gym.motion.dataset import norm_stats as fit_stats
    from smp_gym.motion.io import load_motions
    from smp_gym.motion.layout import DEFAULT_LAYOUT

    layout = DEFAULT_LAYOUT
    clips = select_clips(load_motions(motions, layout, progress=progress), include, exclude)
    names = [c.name for c in clips]
    missing = sorted(set(holdout) - set(names))
    if missing:
        raise MotionDataError(
            f"--holdout clips {missing} are not among the selected clips {names}."
        )
    train_clips = [c for c in clips if c.name not in holdout]
    held_clips = [c for c in clips if c.name in holdout]
    if holdout_tail > 0:
        if not 0 < holdout_tail < 1:
            raise MotionDataError(
                f"--holdout-tail: received {holdout_tail}; need a fraction in (0, 1)."
            )
        pairs = [split_tail(c, holdout_tail) for c in train_clips]
        train_clips, held_clips = [h for h, _ in pairs], held_clips + [t for _, t in pairs]
    if not train_clips:
        raise MotionDataError("every selected clip is held out; keep at least one for training.")
    train = build_windows(train_clips, layout, stride=stride, mirror=mirror)
    held = build_windows(held_clips, layout) if held_clips else None
    if norm_stats is not None:
        q_low, q_high = load_norm_stats(norm_stats, layout)
    else:
        q_low, q_high = fit_stats(train.windows)
    floored = [layout.feature_names[i] for i in narrow_dims(q_low, q_high)]
    if floored and progress:
        print(
            f"normalization: {len(floored)} feature(s) vary less than {MIN_RANGE} in the data and use "
            f"that floor as their q01-q99 range: {', '.join(floored)}. Wider data (more clips, "
            "--mirror) gives the prior a better picture of them.",
            file=sys.stderr,
        )
    out = Path(out)
    run_dir = Path(run_dir) if run_dir else out.with_suffix("").with_name(out.stem + "_run")
    provenance = {
        "command": command_line(),
        "motions": [str(m) for m in (motions if isinstance(motions, (list, tuple)) else [motions])],
        "mirror": mirror,
        "stride": stride,
        "holdout_tail": holdout_tail,
        "norm_stats": str(norm_stats) if norm_stats else "fit on train",
        "norm_range_floor": MIN_RANGE,
        "norm_floored_features": floored,
        "num_train_windows": len(train),
        "num_heldout_windows": len(held) if held else 0,
    }
    trainer = Pretrainer(
        cfg, train, held, q_low, q_high, run_dir, resolve_device(device), provenance
    )
    if resume and trainer.resume() and progress:
        print(f"resumed from {run_dir / 'last.pt'} at step {trainer.step}")
    result = trainer.train(out, progress=progress)
    return {
        **result,
        "out": str(out),
        "run_dir": str(run_dir),
        "train_windows": len(train),
        "heldout_windows": len(held) if held else 0,
    }
