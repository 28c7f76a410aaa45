"""File helpers shared by the core and the tools (stdlib only)."""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename over ``path``: a crash never leaves a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")  # keep the suffix
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
