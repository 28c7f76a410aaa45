"""``smp-gym pretrain``: the pretraining application around ``smp_gym.prior.train``.

:class:`PretrainRun` is the whole run as one frozen config — the data, its train/held-out split,
the outputs and the optimization settings (:class:`~smp_gym.prior.config.PretrainCfg`) — and the
command line is generated from it (one definition of every flag). :func:`run_pretrain` loads the
motions, selects and splits whole clips (or each clip's tail), fits or loads the normalizer,
records provenance and runs :class:`~smp_gym.tools.pretrainer.Pretrainer` (logs, progress bar,
resumable checkpoint, early stopping).

This module imports only the standard library at import time (the command line reads
:class:`PretrainRun` without torch); the work imports its modules when it runs.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from smp_gym.errors import ConfigError
from smp_gym.prior.config import PretrainCfg


@dataclass(frozen=True, kw_only=True)
class PretrainRun:
    """Pretrain a motion prior (L1 ε-prediction) and write it as .safetensors."""

    motions: tuple[Path, ...]
    """Motion files or folders (NPZ / CSV, searched recursively)."""
    out: Path
    """Output prior (.safetensors): the checkpoint with the lowest held-out loss (early
    stopping); the last weights go to OUT.last.safetensors."""
    cfg: PretrainCfg = field(default_factory=PretrainCfg)
    """Optimization settings."""
    holdout: tuple[str, ...] = ()
    """Clip names (file stems) kept out of training and used for validation."""
    include: tuple[str, ...] = ()
    """Glob patterns of clip names to train on (all if empty)."""
    exclude: tuple[str, ...] = ()
    """Glob patterns of clip names to skip."""
    holdout_tail: float = 0.0
    """Also hold out the last fraction of every training clip (for one-clip priors)."""
    mirror: bool = True
    """Add left/right mirrored copies of the training clips."""
    stride: int = 1
    """Frames between consecutive training windows."""
    norm_stats: Path | None = None
    """q_low/q_high from a feature file (`smp-gym data features`) or fit on every clip of a
    motion folder (default: fit on the training windows)."""
    run_dir: Path | None = None
    """Logs and resumable checkpoint (default: OUT_run/ next to OUT)."""
    resume: bool = False
    """Continue from RUN_DIR/last.pt."""
    device: str = "auto"
    """cpu, cuda, cuda:N or auto."""
    progress: bool = True
    """Progress bar and status lines on stderr."""

    def __post_init__(self) -> None:
        if not self.motions:
            raise ConfigError(
                "PretrainRun.motions: received no motion file or folder; pass --motions DIR."
            )
        if self.stride < 1:
            raise ConfigError(f"PretrainRun.stride: received {self.stride}; need >= 1.")
        if not 0.0 <= self.holdout_tail < 1.0:
            raise ConfigError(
                f"PretrainRun.holdout_tail (--holdout-tail): received {self.holdout_tail}; need "
                "a fraction in [0, 1)."
            )

    @property
    def run_folder(self) -> Path:
        """RUN_DIR, or OUT_run/ next to OUT."""
        out = Path(self.out)
        return Path(self.run_dir) if self.run_dir else out.with_name(out.stem + "_run")


def run_pretrain(run: PretrainRun) -> dict:
    """Load and split the data, fit or load the normalizer, train; returns a summary dict."""
    from smp_gym.device import resolve_device
    from smp_gym.motion.dataset import MIN_RANGE, build_windows, narrow_dims
    from smp_gym.motion.dataset import norm_stats as fit_stats
    from smp_gym.motion.layout import DEFAULT_LAYOUT as layout
    from smp_gym.tools.pretrainer import Pretrainer

    train_clips, held_clips = split_clips(run, layout)
    train = build_windows(train_clips, layout, stride=run.stride, mirror=run.mirror)
    held = build_windows(held_clips, layout) if held_clips else None
    if run.norm_stats is not None:
        q_low, q_high = load_norm_stats(run.norm_stats, layout)
    else:
        q_low, q_high = fit_stats(train.windows)
    floored = [layout.feature_names[i] for i in narrow_dims(q_low, q_high)]
    if floored and run.progress:
        print(
            f"normalization: {len(floored)} feature(s) vary less than {MIN_RANGE} in the data and "
            f"use that floor as their q01-q99 range: {', '.join(floored)}. Wider data (more clips, "
            "--mirror) gives the prior a better picture of them.",
            file=sys.stderr,
        )
    provenance = {
        "command": command_line(),
        "motions": [str(m) for m in run.motions],
        "mirror": run.mirror,
        "stride": run.stride,
        "holdout_tail": run.holdout_tail,
        "norm_stats": str(run.norm_stats) if run.norm_stats else "fit on train",
        "norm_range_floor": MIN_RANGE,
        "norm_floored_features": floored,
        "num_train_windows": len(train),
        "num_heldout_windows": len(held) if held else 0,
    }
    trainer = Pretrainer(
        run.cfg, train, held, q_low, q_high, run.run_folder, resolve_device(run.device), provenance
    )
    if run.resume and trainer.resume() and run.progress:
        print(f"resumed from {run.run_folder / 'last.pt'} at step {trainer.step}", file=sys.stderr)
    result = trainer.train(Path(run.out), progress=run.progress)
    return {
        **result,
        "out": str(run.out),
        "run_dir": str(run.run_folder),
        "train_windows": len(train),
        "heldout_windows": len(held) if held else 0,
    }


def split_clips(run: PretrainRun, layout) -> tuple[list, list]:
    """(train, held-out) clips: the selected clips minus ``holdout``, then each training clip's
    last ``holdout_tail`` fraction moved to the held-out side."""
    from smp_gym.errors import MotionDataError
    from smp_gym.motion.io import load_motions

    clips = load_motions(list(run.motions), layout, progress=run.progress)
    clips = select_clips(clips, run.include, run.exclude)
    names = [c.name for c in clips]
    missing = sorted(set(run.holdout) - set(names))
    if missing:
        raise MotionDataError(
            f"--holdout clips {missing} are not among the selected clips {names}."
        )
    train_clips = [c for c in clips if c.name not in run.holdout]
    held_clips = [c for c in clips if c.name in run.holdout]
    if run.holdout_tail > 0:
        pairs = [split_tail(c, run.holdout_tail) for c in train_clips]
        train_clips, held_clips = [h for h, _ in pairs], held_clips + [t for _, t in pairs]
    if not train_clips:
        raise MotionDataError("every selected clip is held out; keep at least one for training.")
    return train_clips, held_clips


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
