"""Shared fixtures. Unit tests (tests/unit) never import mjlab; sim tests are marked ``sim``."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("SMP_GYM_CACHE", str(Path(__file__).parent / ".cache"))

from smp_gym.tools.render import configure_gl  # noqa: E402

configure_gl()  # headless GL (osmesa on CPU), set before anything imports mujoco

import pytest  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SEED_DIR = REPO.parent / "shared" / "reference" / "seed"


@pytest.fixture(scope="session")
def seed_dir() -> Path:
    """The reference reproduction's data (../shared/reference/seed); skip when absent."""
    if not (SEED_DIR / "pretrain_ckpt").is_dir():
        pytest.skip(f"reference data not found at {SEED_DIR}")
    return SEED_DIR


@pytest.fixture(scope="session")
def seed_priors(seed_dir, tmp_path_factory) -> dict[str, Path]:
    """The three reference priors converted to our format (import-seed)."""
    from smp_gym.prior.checkpoint import import_seed

    out = tmp_path_factory.mktemp("seed_priors")
    return {
        name: import_seed(
            seed_dir / "pretrain_ckpt" / f"pretrained_{name}.pt", out / f"{name}.safetensors"
        )
        for name in ("loco", "lafan_run", "getup_f2s2")
    }


@pytest.fixture(scope="session")
def synthetic_clips():
    """Procedural G1 gait clips (no external data): see tests/synthetic.py."""
    from tests.synthetic import gait_clips

    return gait_clips()


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


# --------------------------------------------------------------------------- memory log
# SMP_GYM_TEST_RSS_LOG=path: after every test, append "nodeid<TAB>seconds<TAB>RSS MiB<TAB>peak
# MiB" (this process; peak = ru_maxrss so far) to path. docs/testing.md reads the suite's memory
# per file from it.
_RSS_LOG = os.environ.get("SMP_GYM_TEST_RSS_LOG")


if _RSS_LOG:
    import resource
    import time

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        import psutil

        start = time.perf_counter()
        yield
        rss = psutil.Process().memory_info().rss / 2**20
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
        with open(_RSS_LOG, "a") as f:
            f.write(f"{item.nodeid}\t{time.perf_counter() - start:.2f}\t{rss:.0f}\t{peak:.0f}\n")
