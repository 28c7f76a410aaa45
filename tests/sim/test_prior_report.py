"""``smp-gym prior-report`` run small on the shipped ``locomotion`` prior with procedural clips
(tests/synthetic.py, no download): the page references images that exist and are not blank, and
holds the paired win-rate table (one row per corruption of prior/evaluate.py, rates in [0, 1])
and the SDS-over-an-episode summary of the reference clip and both rollouts."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest

pytestmark = pytest.mark.sim


def test_prior_report_page(tmp_path, synthetic_clips):
    import imageio.v2 as imageio

    from smp_gym.tools.prior_report import prior_report

    page = prior_report(
        "locomotion", tmp_path, clips=synthetic_clips, steps=12, windows=64, samples=2, draws=1
    )
    text = page.read_text()
    images = re.findall(r'<img src="([^"]+)"', text)
    assert sorted(images) == ["eval.png", "gsi_samples.png", "sds_episode.png"]
    for name in images:
        img = imageio.imread(tmp_path / name)[..., :3].astype(np.float32)
        assert img.shape[0] > 100 and img.std() > 10, (name, img.shape, img.std())

    table = re.search(r"<table id='win-rate'>(.*?)</table>", text).group(1)
    rows = re.findall(r"<tr><td>(\w+)</td>((?:<td>[^<]*</td>)+)</tr>", table)
    assert [r[0] for r in rows] == ["time_shuffle", "joint_noise"]
    for _, cells in rows:
        real, bad, auc, win = (float(v) for v in re.findall(r"<td>([^<]*)</td>", cells))
        assert real > 0 and bad > 0 and 0 <= auc <= 1 and 0 <= win <= 1

    summary = json.loads(html.unescape(re.search(r"Means: <code>(.*?)</code>", text).group(1)))
    assert list(summary)[1:] == ["random actions", "zero actions"]
    assert list(summary)[0].startswith("reference clip")
    assert all(np.isfinite(v) and v > 0 for v in summary.values())
