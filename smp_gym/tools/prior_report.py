"""``smp-gym prior-report PRIOR``: one HTML page to judge a motion prior by.

It holds (all figures are PNGs beside ``index.html``):

1. the SDS error over an episode: a real reference clip scored window by window, against the
   same prior's error on env rollouts (random actions, zero actions and, with ``checkpoint``, a
   trained policy), all on one axis: natural motion should stay low, flailing high;
2. the paired win-rate table of ``smp-gym prior eval`` (real vs corrupted windows) with its
   histogram / ROC figure;
3. GSI sample strips: windows drawn from the prior (the start states GSI uses), first, middle
   and last frame of each, on the G1 (MuJoCo's renderer, or stick figures without OpenGL).

The SDS error is the raw one, mean over the reward's diffusion timesteps: for clips
``prior.evaluate.sds_errors``; in the env ``info["sds_error"]`` (the same scorer and timesteps).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import torch

from smp_gym.tools.figures import pyplot, save_figure

TIMESTEPS = (8, 15, 22)


def default_task(prior_name: str) -> str:
    """The registered task whose default prior is ``prior_name`` (else Steering)."""
    from smp_gym.registry import TASKS

    return next(
        (tid for tid, t in TASKS.items() if t.default_prior == prior_name), "SmpSteeringG1-v0"
    )


def clip_curve(prior, clip, steps: int, seed: int) -> np.ndarray:
    """SDS error of each window of ``clip`` (window ending at frame t), first ``steps``. [T']"""
    from smp_gym.motion.dataset import clip_windows
    from smp_gym.prior.evaluate import sds_errors

    windows = clip_windows(clip, prior.layout)[:steps]
    return sds_errors(prior, windows, TIMESTEPS, draws=1, seed=seed).cpu().numpy()


@torch.no_grad()
def rollout_curve(prior_src: str, task: str, kind: str, steps: int, seed: int, ckpt=None):
    """``info["sds_error"]`` of env 0 for ``steps`` steps, and the steps where its episodes ended
    (terminated or truncated; SAME_STEP autoreset starts the next one from a GSI state)."""
    import gymnasium

    import smp_gym  # noqa: F401 - registers the ids

    policy = None
    if kind == "policy":
        from smp_gym.tools.policy import load_bundle, make_env_for

        policy, bundle = load_bundle(ckpt, "cpu")
        env = make_env_for(bundle, 1, "cpu", seed)
    else:
        env = gymnasium.make_vec(
            task,
            num_envs=1,
            device="cpu",
            prior=prior_src,
            seed=seed,
            sim={"push_robot": False},
            gsi={"pool_size": 16, "batch_size": 16},
            max_episode_steps=steps,
        )
    g = torch.Generator().manual_seed(seed)
    obs, _ = env.reset(seed=seed)
    out, ends = [], []
    for t in range(steps):
        shape = (1, env.single_action_space.shape[0])
        if policy is not None:
            act = policy(obs)
        elif kind == "random":
            act = 0.3 * torch.randn(shape, generator=g)
        else:
            act = torch.zeros(shape)
        obs, _, term, trunc, info = env.step(act)
        out.append(float(info["sds_error"][0]))
        if bool(term[0] | trunc[0]):
            ends.append(t)
    env.close()
    return np.array(out), ends


def plot_curves(curves: dict, path: Path, dt: float, title: str) -> Path:
    """``curves``: name -> (errors [T], steps where an episode ended), marked with an x."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for name, (y, ends) in curves.items():
        (line,) = ax.plot(np.arange(len(y)) * dt, y, label=f"{name} (mean {y.mean():.3g})", lw=1.4)
        ax.plot(np.array(ends) * dt, y[ends], "x", color=line.get_color(), ms=7)
    ax.set(xlabel="time in episode (s)", ylabel="raw SDS error (mean over K)", title=title)
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def pose_images(windows: torch.Tensor, layout, frames: tuple[int, ...], size=(200, 260)):
    """Frames ``frames`` of each window [n, W, F] posed on the G1. [n, len(frames)] of RGB."""
    import mujoco

    from smp_gym.motion.features import features_to_frames
    from smp_gym.motion.fk import robot_xml
    from smp_gym.sim.skeleton import SkeletonRenderer
    from smp_gym.tools.render import configure_gl, offscreen_backend

    configure_gl()
    model = mujoco.MjModel.from_xml_path(str(robot_xml(layout.robot)))
    model.vis.headlight.ambient[:], model.vis.headlight.diffuse[:] = 0.5, 0.7  # no scene lights
    data = mujoco.MjData(model)
    n = windows.shape[0]
    fr = features_to_frames(windows.float().cpu(), layout, torch.zeros(n, 2), torch.zeros(n))
    qadr = [model.joint(j).qposadr[0] for j in layout.joint_names]
    gl = skeleton = None
    if offscreen_backend() is not None:
        try:
            gl = mujoco.Renderer(model, size[1], size[0])
        except Exception:  # noqa: BLE001 - GL backends fail in assorted ways: stick figures
            gl = None
    if gl is None:
        skeleton = SkeletonRenderer([int(p) - 1 for p in model.body_parentid[1:]], *size)
    cam = mujoco.MjvCamera()
    cam.distance, cam.elevation, cam.azimuth = 2.4, -10.0, 135.0
    out = []
    for i in range(n):
        row = []
        for t in frames:
            data.qpos[:3] = fr.root_pos_w[i, t].numpy()
            data.qpos[3:7] = fr.root_quat_w[i, t].numpy()
            data.qpos[qadr] = fr.joint_pos[i, t].numpy()
            mujoco.mj_kinematics(model, data)
            if gl is None:
                row.append(skeleton.render(data.xpos[1:].copy()))
                continue
            cam.lookat[:] = [data.qpos[0], data.qpos[1], 0.6]
            gl.update_scene(data, cam)
            row.append(gl.render().copy())
        out.append(row)
    if gl is not None:
        gl.close()
    return out


def plot_strips(images, frames: tuple[int, ...], path: Path, fps: float) -> Path:
    plt = pyplot()
    n, m = len(images), len(frames)
    fig, axes = plt.subplots(m, n, figsize=(1.9 * n, 2.5 * m), squeeze=False)
    for i, row in enumerate(images):
        for j, img in enumerate(row):
            ax = axes[j, i]
            ax.imshow(img)
            ax.set_xticks([]), ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(f"t = {frames[j] / fps:.2f} s")
        axes[0, i].set_title(f"sample {i}", fontsize=9)
    return save_figure(fig, path, dpi=90)


def table_html(result: dict) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(c)}</td><td>{result['real_error']:.4f}</td>"
        f"<td>{v['error']:.4f}</td><td>{v['auc']:.3f}</td><td>{v['paired_win_rate']:.3f}</td></tr>"
        for c, v in result["corruptions"].items()
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("corruption", "real error", "corrupted error", "AUC", "paired win rate")
    )
    return f"<table id='win-rate'><tr>{head}</tr>{rows}</table>"


def _reference(prior, clips: list) -> tuple:
    """The reference clip (the prior's first held-out clip when it records one, else the first
    clip) and the evaluation windows (its held-out windows, else all windows of ``clips``)."""
    from smp_gym.motion.dataset import build_windows
    from smp_gym.tools.pretrain import split_tail

    by_name = {c.name: c for c in clips}
    held = [n for n in prior.meta.get("heldout_clips", []) if n.split("[")[0] in by_name]
    if not held:
        return clips[0], build_windows(clips, prior.layout).windows
    chosen = [
        split_tail(by_name[n[:-6]], float(prior.meta["holdout_tail"]))[1]
        if n.endswith("[tail]")
        else by_name[n]
        for n in held
    ]
    return chosen[0], build_windows(chosen, prior.layout).windows


def prior_report(
    prior: str,
    out: str | Path = "prior_report",
    motions=None,
    clips: list | None = None,
    task: str | None = None,
    checkpoint: str | None = None,
    steps: int = 250,
    windows: int = 1024,
    samples: int = 6,
    draws: int = 2,
    seed: int = 0,
) -> Path:
    """Write ``out/index.html`` (and its PNGs) for ``prior`` (shipped name or path); returns it.
    ``clips`` (Clip objects) replaces ``motions`` (files/folders; default: the fetched clips)."""
    from smp_gym.motion.io import load_motions
    from smp_gym.prior.checkpoint import load
    from smp_gym.prior.evaluate import evaluate_prior, public
    from smp_gym.prior.sampling import ddpm_sample
    from smp_gym.tools.visualize import plot_evaluation

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = load(prior, "cpu")
    name = Path(prior).stem
    if clips is None:
        if motions is None:
            from smp_gym.tools.data import fetch

            motions = [fetch(quiet=True)]
        clips = load_motions(motions, p.layout)
    ref, eval_windows = _reference(p, clips)
    g = torch.Generator().manual_seed(seed)
    if len(eval_windows) > windows:
        eval_windows = eval_windows[torch.randperm(len(eval_windows), generator=g)[:windows]]
    task = task or default_task(name)
    dt = 1.0 / p.layout.fps

    curves = {f"reference clip '{ref.name}'": (clip_curve(p, ref, steps, seed), [])}
    for kind in ("random", "zero") + (("policy",) if checkpoint else ()):
        label = {"random": "random actions", "zero": "zero actions", "policy": "policy"}[kind]
        curves[label] = rollout_curve(prior, task, kind, steps, seed, checkpoint)
    plot_curves(curves, out / "sds_episode.png", dt, f"{name}: SDS error over an episode ({task})")

    result = evaluate_prior(p, eval_windows, timesteps=TIMESTEPS, draws=draws, seed=seed)
    plot_evaluation({name: result}, out / "eval.png")

    gen = torch.Generator().manual_seed(seed)
    sampled = ddpm_sample(p, samples, gen, batch_size=samples)
    frames = (0, p.layout.window // 2, p.layout.window - 1)
    plot_strips(
        pose_images(sampled, p.layout, frames), frames, out / "gsi_samples.png", p.layout.fps
    )

    summary = {k: round(float(v.mean()), 5) for k, (v, _) in curves.items()}
    page = PAGE.format(
        name=html.escape(name),
        source=html.escape(str(p.source)),
        task=html.escape(task),
        steps=steps,
        n=result["num_windows"],
        draws=draws,
        timesteps=TIMESTEPS,
        table=table_html(result),
        samples=samples,
        summary=html.escape(json.dumps(summary)),
        evaluation=html.escape(json.dumps(public(result))),
    )
    (out / "index.html").write_text(page)
    return out / "index.html"


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>prior report: {name}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #bbb;padding:4px 10px;text-align:right}}
img{{max-width:100%}}code{{background:#f3f3f3}}</style></head><body>
<h1>Prior report: {name}</h1>
<p><code>{source}</code> · SDS error = the raw denoising error at diffusion steps
{timesteps}, mean over them (what <code>r_smp = exp(-ws · error / running mean)</code> is built
from): lower is more natural.</p>
<h2>SDS error over an episode</h2>
<p>A real reference clip, scored window by window, against {task} rollouts on the same prior (at
most {steps} steps; an x marks an episode end: a fall, or the SMP termination when the motion
became unnatural, after which the env restarts from a GSI state). Natural motion stays low.</p>
<img src="sds_episode.png" alt="SDS error over an episode">
<p>Means: <code>{summary}</code></p>
<h2>Real vs corrupted windows (paired win rate)</h2>
<p>{n} held-out windows, {draws} noise draws each. Paired win rate: the share of windows whose
own corrupted copy scores worse (1.0: the prior always prefers the real motion).</p>
{table}
<img src="eval.png" alt="SDS error histograms and ROC curves">
<h2>GSI sample strips</h2>
<p>{samples} windows drawn from the prior (GSI starts episodes at their last frame): first,
middle and last frame of each.</p>
<img src="gsi_samples.png" alt="GSI samples">
<details><summary>evaluation JSON</summary><pre>{evaluation}</pre></details>
</body></html>
"""
