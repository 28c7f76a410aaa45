"""Learning curves of training runs: the reward decomposition and task metrics vs env steps.

Every example logs the same quantities (``smp_gym.adapters.common.scalar_logs``) into
TensorBoard, each library with its own tag spelling and x-axis unit:

- skrl: ``SMP / r_smp`` at the per-env timestep → env steps = step × num_envs;
- Stable-Baselines3: ``SMP/r_smp`` at ``num_timesteps`` (already env steps);
- rsl_rl: ``Episode/SMP/r_smp`` at the iteration → env steps = step × num_envs × steps per env.

``load_run`` reads a run folder written by an example (``args.json`` + the library's events) and
returns each curve in env steps; ``plot_runs`` draws one panel per quantity. Task metrics are
whatever the task declares (``TaskSpec.metrics``, logged as ``Task / <name>``): their panels take
the label and unit the examples record in ``args.json`` (the metric's name when absent).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from smp_gym.errors import ConfigError
from smp_gym.tools.figures import pyplot, save_figure

# panel title -> normalized tag suffix (lower case, no separators); task metrics are added per run
CURVES = {
    "episode return": "episodeepisodereturn",
    "episode length (steps)": "episodeepisodelength",
    "task reward (per step)": "smptaskreward",
    "r_smp (per step)": "smprsmp",
    "SDS error (per step)": "smpsdserror",
    "terminated (share of episodes)": "episodeterminatedfraction",
}


def _metric_name(tag: str) -> str | None:
    """``vel_error`` from a per-step task-metric tag: ``Task / vel_error`` (skrl), ``Task/vel_error``
    (SB3), ``Episode/Task/vel_error`` (rsl_rl)."""
    parts = [p.strip() for p in tag.split("/")]
    if len(parts) >= 2 and parts[-2].lower() == "task":
        return parts[-1]
    return None


def _metric_title(name: str, declared: dict) -> str:
    d = declared.get(name, {})
    unit = d.get("unit", "")
    return f"{d.get('label') or name}{f' [{unit}]' if unit else ''} (per step)"


def _norm(tag: str) -> str:
    return re.sub(r"[^a-z0-9]", "", tag.lower())


def _library(run: Path) -> str:
    for lib in ("skrl", "rsl_rl"):
        if (run / lib).is_dir():
            return lib
    return "sb3"


def load_run(run: str | Path) -> dict[str, tuple[list[float], list[float]]]:
    """Curves of one run: panel title → (env steps, values), for the quantities it logged."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = Path(run)
    args_file = run / "args.json"
    if not args_file.is_file():
        raise ConfigError(
            f"curves: {run} has no args.json; pass a run folder written by an example "
            "(runs/<task>_<library>_<time>/)."
        )
    args = json.loads(args_file.read_text())
    lib = _library(run)
    per_step = {
        "skrl": args["num_envs"],
        "sb3": 1,
        "rsl_rl": args["num_envs"] * args.get("steps_per_env", 24),
    }[lib]
    events = sorted(run.rglob("events.out.tfevents.*"))
    if not events:
        raise ConfigError(
            f"curves: no TensorBoard events under {run}; was the run started with logging?"
        )
    declared = args.get("metrics", {})
    curves: dict[str, tuple[list[float], list[float]]] = {}
    for ev in events:
        acc = EventAccumulator(str(ev), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            name = _metric_name(tag)
            title = (
                _metric_title(name, declared)
                if name
                else next((t for t, suffix in CURVES.items() if _norm(tag).endswith(suffix)), None)
            )
            if title is not None and title not in curves:
                pts = acc.Scalars(tag)
                curves[title] = ([p.step * per_step for p in pts], [p.value for p in pts])
    if not curves:
        raise ConfigError(
            f"curves: {run}'s events hold none of the SMP tags ({', '.join(CURVES)}, "
            "Task / <metric>)."
        )
    return curves


def _smooth(values: list[float], window: int) -> list[float]:
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v - (values[i - window] if i >= window else 0.0)
        out.append(acc / min(i + 1, window))
    return out


def plot_runs(runs: list[str | Path], out: str | Path, smooth: int = 10) -> Path:
    """One panel per quantity any run logged, one line per run (moving average of ``smooth``)."""
    plt = pyplot()
    loaded = {Path(r).name: load_run(r) for r in runs}
    titles = [t for t in CURVES if any(t in c for c in loaded.values())]
    titles += sorted({t for c in loaded.values() for t in c if t not in CURVES})  # task metrics
    cols = min(3, len(titles))
    rows = -(-len(titles) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 3.0 * rows), squeeze=False)
    for ax, title in zip(axes.flat, titles, strict=False):
        for name, curves in loaded.items():
            if title in curves:
                x, y = curves[title]
                ax.plot(x, _smooth(y, smooth), label=name)
        ax.set(title=title, xlabel="env steps")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 3))
    for ax in list(axes.flat)[len(titles) :]:
        ax.axis("off")
    if len(loaded) > 1:
        axes.flat[0].legend(fontsize=7)
    return save_figure(fig, out)
