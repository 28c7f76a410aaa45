"""Prior checkpoints: weights + schedule + normalizer + FeatureLayout, stored as data.

Our format is one ``.safetensors`` file: tensors ``model.*``, ``q_low``, ``q_high`` and JSON
metadata (denoiser config, T, layout, provenance). Nothing in it is executable, so loading an
untrusted file is safe. The reference's pickled ``.pt`` files are refused on this path; convert
them once with :func:`import_seed` (``smp-gym prior import-seed``), which does unpickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from smp_gym.errors import PriorLoadError, fmt_choices
from smp_gym.files import atomic_write
from smp_gym.motion.features import denormalize, normalize
from smp_gym.motion.layout import DEFAULT_LAYOUT, FeatureLayout
from smp_gym.prior.denoiser import Denoiser, DenoiserCfg
from smp_gym.prior.schedule import DdpmSchedule

FORMAT = "smp_gym.prior/1"


@dataclass(frozen=True)
class Prior:
    """A frozen motion prior on one device."""

    model: Denoiser
    schedule: DdpmSchedule
    q_low: Tensor  # [F]
    q_high: Tensor  # [F]
    layout: FeatureLayout
    meta: dict = field(default_factory=dict)
    source: str = ""

    @property
    def device(self) -> torch.device:
        return self.q_low.device

    @property
    def num_timesteps(self) -> int:
        return self.schedule.num_timesteps

    def normalize(self, x: Tensor) -> Tensor:
        return normalize(x, self.q_low, self.q_high)

    def denormalize(self, x: Tensor) -> Tensor:
        return denormalize(x, self.q_low, self.q_high)

    def to(self, device: torch.device | str) -> Prior:
        return Prior(
            self.model.to(device),
            DdpmSchedule(self.num_timesteps, device),
            self.q_low.to(device),
            self.q_high.to(device),
            self.layout,
            self.meta,
            self.source,
        )


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_prior(
    path: str | Path,
    model: Denoiser,
    q_low: Tensor,
    q_high: Tensor,
    layout: FeatureLayout,
    num_timesteps: int = 50,
    meta: dict | None = None,
) -> Path:
    """Write a prior as ``.safetensors`` (atomically)."""
    from safetensors.torch import save_file

    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors["q_low"] = q_low.detach().float().cpu().contiguous()
    tensors["q_high"] = q_high.detach().float().cpu().contiguous()
    metadata = {
        "format": FORMAT,
        "denoiser": json.dumps(model.cfg.to_dict()),
        "num_timesteps": str(int(num_timesteps)),
        "layout": json.dumps(layout.to_dict()),
        "meta": json.dumps(meta or {}, default=str),
    }
    return atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def _refuse_pickle(path: Path) -> PriorLoadError:
    return PriorLoadError(
        f"{path}: is a pickled PyTorch checkpoint, which can run code when loaded; smp_gym refuses "
        "it on the default load path. If you trust the file (e.g. the reference's priors), convert "
        f"it once: `smp-gym prior import-seed {path} {path.with_suffix('.safetensors')}`."
    )


def load_prior(
    path: str | Path, device: torch.device | str = "cpu", expected_sha256: str | None = None
) -> Prior:
    """Load a ``.safetensors`` prior onto ``device``, frozen (eval, no grad)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise PriorLoadError(f"prior: {path} does not exist.")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] == b"PK" or magic[:1] == b"\x80":  # torch zip archive or raw pickle
        raise _refuse_pickle(path)
    if expected_sha256 is not None:
        actual = sha256_of(path)
        if actual != expected_sha256:
            raise PriorLoadError(
                f"{path}: sha256 is {actual} but the MANIFEST records {expected_sha256}; the file is "
                "corrupt or was replaced. Reinstall smp_gym (or restore the file from git)."
            )
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise PriorLoadError(
            f"{path}: is not a readable smp_gym prior ({err}). The file may be truncated or "
            "corrupt; re-download or retrain it."
        ) from err
    if metadata.get("format") != FORMAT:
        raise PriorLoadError(
            f"{path}: safetensors metadata 'format' is {metadata.get('format')!r}, expected "
            f"{FORMAT!r}: this file is not an smp_gym prior."
        )
    try:
        cfg = DenoiserCfg(**json.loads(metadata["denoiser"]))
        layout = FeatureLayout.from_dict(json.loads(metadata["layout"]))
        num_timesteps = int(metadata["num_timesteps"])
        meta = json.loads(metadata.get("meta", "{}"))
        model = Denoiser(cfg)
        state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        model.load_state_dict(state)
        q_low, q_high = tensors["q_low"], tensors["q_high"]
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise PriorLoadError(
            f"{path}: prior metadata or weights are inconsistent ({err})."
        ) from err
    if cfg.feature_dim != layout.feature_dim or q_low.shape != (layout.feature_dim,):
        raise PriorLoadError(
            f"{path}: denoiser feature_dim={cfg.feature_dim}, q_low {tuple(q_low.shape)} and "
            f"layout feature_dim={layout.feature_dim} disagree."
        )
    model.eval().requires_grad_(False)
    meta.setdefault("sha256", expected_sha256 or sha256_of(path))
    return Prior(model, DdpmSchedule(num_timesteps), q_low, q_high, layout, meta, str(path)).to(
        device
    )


def import_seed(src: str | Path, dst: str | Path, layout: FeatureLayout = DEFAULT_LAYOUT) -> Path:
    """Convert a reference-reproduction ``.pt`` prior to our format.

    **This unpickles ``src``** (``torch.load(weights_only=False)``): only use it on files you
    trust. It is the only place in smp_gym that does.
    """
    src = Path(src)
    if not src.is_file():
        raise PriorLoadError(f"import-seed: {src} does not exist.")
    try:
        ck = torch.load(src, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - unpickling raises many types
        raise PriorLoadError(
            f"import-seed: {src} is not a readable torch checkpoint ({err})."
        ) from err
    needed = ("model", "q_low", "q_high", "cfg")
    if not isinstance(ck, dict) or any(k not in ck for k in needed):
        found = sorted(ck) if isinstance(ck, dict) else type(ck).__name__
        raise PriorLoadError(f"import-seed: {src} lacks keys {list(needed)} (found {found}).")
    c = ck["cfg"]
    if "nhead" not in c:
        warnings.warn(f"{src}: cfg has no 'nhead'; assuming the training default 4.", stacklevel=2)
    cfg = DenoiserCfg(
        feature_dim=int(c.get("feature_dim", 59)),
        window=int(c.get("window_size", 10)),
        d_model=int(c.get("d_model", 256)),
        nhead=int(c.get("nhead", 4)),
        num_layers=int(c.get("num_layers", 2)),
        dropout=0.0,
    )
    if (cfg.feature_dim, cfg.window) != (layout.feature_dim, layout.window):
        raise PriorLoadError(
            f"import-seed: {src} has feature_dim={cfg.feature_dim}, window={cfg.window}; the layout "
            f"has {layout.feature_dim}, {layout.window}."
        )
    state = ck.get("model_ema") or ck["model"]
    model = Denoiser(cfg)
    model.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
    meta = {
        "name": src.stem,
        "imported_from": str(src),
        "imported_sha256": sha256_of(src),
        "weights": "model_ema" if ck.get("model_ema") else "model",
        "epoch": ck.get("epoch"),
        "seed_cfg": {k: v for k, v in c.items() if isinstance(v, (int, float, str, bool))},
    }
    q_low = torch.as_tensor(ck["q_low"], dtype=torch.float32)
    q_high = torch.as_tensor(ck["q_high"], dtype=torch.float32)
    return save_prior(dst, model, q_low, q_high, layout, int(c.get("num_timesteps", 50)), meta)


def resolve_prior_path(spec: str | Path) -> tuple[Path, str | None]:
    """Find a prior by shipped name (``locomotion``, ``forward``, ``getup``) or path.

    Returns (path, expected sha256 or None). Raises PriorLoadError listing every place searched.
    """
    from smp_gym import priors_manifest

    manifest = priors_manifest.load()
    name = str(spec)
    if name in manifest:
        entry = manifest[name]
        return priors_manifest.prior_file(entry), entry["sha256"]
    searched = []
    candidates = [Path(spec).expanduser()]
    for root in filter(None, os.environ.get("SMP_GYM_PRIORS", "").split(os.pathsep)):
        candidates += [Path(root) / name, Path(root) / f"{name}.safetensors"]
    for cand in candidates:
        searched.append(str(cand.resolve()))
        if cand.is_file():
            return cand, None
    raise PriorLoadError(
        f"prior: {name!r} not found. Searched: {searched} and the shipped priors "
        f"({fmt_choices(sorted(manifest)) or 'none installed'}). Pass a path to a .safetensors "
        "prior or a shipped name; SMP_GYM_PRIORS may list extra folders."
    )


def load(spec: str | Path, device: torch.device | str = "cpu") -> Prior:
    """Load a prior by shipped name or path (sha256-verified for shipped priors)."""
    path, sha = resolve_prior_path(spec)
    return load_prior(path, device, expected_sha256=sha)
