"""Run-time lookup in the shipped priors' MANIFEST (``priors/MANIFEST.json``, installed as
``smp_gym.priors``): what ``prior.checkpoint`` needs to resolve a shipped name and verify its
sha256. Stdlib only; the MANIFEST is written by ``smp_gym.tools.manifest``."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path


def _root() -> Path:
    return Path(str(resources.files("smp_gym.priors")))


def load() -> dict[str, dict]:
    """Entries by prior name: file, sha256, layout, clips, command, evaluation. {} if none."""
    path = _root() / "MANIFEST.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text())["priors"]


def prior_file(entry: dict) -> Path:
    return _root() / entry["file"]
