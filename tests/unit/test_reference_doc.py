"""Tests cite docs/reference.md by section (``docs/reference.md#sds-reward``): every cited section
exists as a heading there, and no test cites the reference study outside the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CITATION = re.compile(r"docs/reference\.md#([A-Za-z0-9_-]+)")
OUTSIDE = "SEED_" + "SPEC"  # spelled apart so this file does not cite it


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces -> '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    return {github_anchor(m) for m in re.findall(r"^#{1,6} +(.+?) *$", markdown, re.M)}


def test_github_anchor_rule():
    assert github_anchor("SDS reward") == "sds-reward"
    assert github_anchor("Motion data and resampling") == "motion-data-and-resampling"
    assert github_anchor("Task × SMP (v2)") == "task--smp-v2"
    assert anchors("# Top\ntext # not a heading\n## PPO settings\n") == {"top", "ppo-settings"}


def test_every_cited_section_exists():
    have = anchors((ROOT / "docs" / "reference.md").read_text())
    cited = {
        (path.relative_to(ROOT).as_posix(), anchor)
        for path in (ROOT / "tests").rglob("*.py")
        for anchor in CITATION.findall(path.read_text())
    }
    assert cited  # the suite does cite the page
    missing = sorted((path, a) for path, a in cited if a not in have)
    assert not missing, f"cited sections missing from docs/reference.md: {missing}"


def test_no_test_cites_the_study_outside_the_repository():
    citing = sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*.py")
        if OUTSIDE in path.read_text()
    )
    assert not citing, f"cite docs/reference.md#<section> instead of {OUTSIDE} in {citing}"
