"""Start-up time of the ``smp-gym`` command: best-of-N wall and CPU (user + sys) seconds of
``python -m smp_gym.cli tasks`` and ``... --help``, and whether torch was imported.

Several interpreters (one per checkout, e.g. main's and a branch's venv) are timed in turns in
one run, so machine load hits them alike::

    python benchmarks/cli_startup.py --python /path/to/before/python /path/to/after/python

Each interpreter imports smp_gym from where it was installed (``pip install -e``), so the runs
start in a temporary folder. CPU time is the number to compare on a shared machine: wall time grows with the load.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(python: str, argv: list[str]) -> tuple[float, float, bool]:
    """(wall s, CPU s, torch imported) of one run of ``python -m smp_gym.cli ARGV``."""
    t, c = time.perf_counter(), _cpu()
    proc = subprocess.run(
        [python, "-X", "importtime", "-m", "smp_gym.cli", *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),  # not a checkout: `-m` must import the interpreter's install
    )
    wall, cpu = time.perf_counter() - t, _cpu() - c
    torch = any(line.rsplit("|", 1)[-1].strip() == "torch" for line in proc.stderr.splitlines())
    return wall, cpu, torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", nargs="+", default=[sys.executable])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for argv in (["tasks"], ["--help"]):
        best = {py: (1e9, 1e9, False) for py in args.python}
        for _ in range(args.repeats):
            for py in args.python:  # in turns
                w, c, torch = measure(py, argv)
                best[py] = (min(best[py][0], w), min(best[py][1], c), torch)
        for py, (w, c, torch) in best.items():
            print(
                f"smp-gym {' '.join(argv):<7} {w:5.2f} s wall  {c:5.2f} s CPU  "
                f"torch imported: {'yes' if torch else 'no'}  ({py})"
            )


if __name__ == "__main__":
    main()
