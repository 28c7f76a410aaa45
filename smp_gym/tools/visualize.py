"""Look at a prior: sampled vs real joint trajectories, sampled windows played on the G1, and
its real-vs-corrupted evaluation (histograms, ROC curves)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from smp_gym.motion.features import features_to_frames
from smp_gym.motion.layout import FeatureLayout

PLOT_JOINTS = (
    "left_hip_pitch_joint",
    "left_knee_joint",
    "right_hip_pitch_joint",
    "right_knee_joint",
    "left_shoulder_pitch_joint",
    "left_elbow_joint",
)


def sample_and_plot(
    ckpt: str,
    n: int = 256,
    plot: Path | None = None,
    motions=None,
    seed: int = 0,
    device: str = "auto",
) -> torch.Tensor:
    """Draw ``n`` windows; optionally plot their joint trajectories against real windows."""
    from smp_gym.device import resolve_device
    from smp_gym.prior.checkpoint import load
    from smp_gym.prior.sampling import ddpm_sample

    prior = load(ckpt, resolve_device(device))
    g = torch.Generator(prior.device).manual_seed(seed)
    samples = ddpm_sample(prior, n, g, batch_size=min(n, 1024)).cpu()
    if plot is not None:
        real = None
        if motions:
            from smp_gym.motion.dataset import build_windows
            from smp_gym.motion.io import load_motions

            real = build_windows(load_motions(motions, prior.layout), prior.layout).windows
        plot_trajectories(
            samples, real, prior.layout, plot, title=f"{Path(str(ckpt)).stem}: samples vs data"
        )
    return samples


def plot_trajectories(
    samples, real, layout: FeatureLayout, path: Path, title: str = "", per_panel: int = 24
) -> Path:
    """One panel per joint: sampled windows (colour) over real windows (grey), radians vs frame."""
    from smp_gym.tools.figures import pyplot, save_figure

    plt = pyplot()

    js = layout.slices["joint_pos"].start
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), sharex=True)
    rng = np.random.default_rng(0)
    t = np.arange(layout.window)
    for ax, name in zip(axes.flat, PLOT_JOINTS, strict=True):
        j = js + layout.joint_names.index(name)
        if real is not None and len(real):
            for i in rng.choice(len(real), min(per_panel, len(real)), replace=False):
                ax.plot(t, real[i, :, j].numpy(), color="0.6", lw=0.8, alpha=0.6)
        for i in range(min(per_panel, len(samples))):
            ax.plot(t, samples[i, :, j].numpy(), color=plt.cm.viridis(i / per_panel), lw=1.0)
        ax.set_title(name.replace("_joint", ""), fontsize=9)
    for ax in axes[-1]:
        ax.set_xlabel("frame (50 fps)")
    axes[0, 0].set_ylabel("rad")
    fig.suptitle(title + ("  (grey: real windows)" if real is not None else ""))
    return save_figure(fig, path)


def render_windows(
    windows: torch.Tensor,
    path: Path,
    layout: FeatureLayout | None = None,
    repeats: int = 2,
    width: int = 320,
    height: int = 240,
) -> Path:
    """Play windows [n, W, F] kinematically on the G1 (each ``repeats`` times, half speed)."""
    from smp_gym.tools.render import configure_gl, render_failure_hint, write_video

    configure_gl()
    import mujoco

    from smp_gym.motion.fk import robot_xml

    layout = layout or FeatureLayout()
    model = mujoco.MjModel.from_xml_path(str(robot_xml(layout.robot)))
    data = mujoco.MjData(model)
    n = windows.shape[0]
    frames = features_to_frames(windows.float(), layout, torch.zeros(n, 2), torch.zeros(n))
    qadr = [
        model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, j)]
        for j in layout.joint_names
    ]
    try:
        renderer = mujoco.Renderer(model, height, width)
    except Exception as err:  # noqa: BLE001 - GL backends raise assorted errors
        raise RuntimeError(render_failure_hint(err)) from err
    cam = mujoco.MjvCamera()
    cam.distance, cam.elevation, cam.azimuth = 2.6, -10.0, 135.0
    images = []
    for i in range(n):
        for _ in range(repeats):
            for t in range(layout.window):
                data.qpos[:3] = frames.root_pos_w[i, t].numpy()
                data.qpos[3:7] = frames.root_quat_w[i, t].numpy()
                data.qpos[qadr] = frames.joint_pos[i, t].numpy()
                mujoco.mj_kinematics(model, data)
                cam.lookat[:] = [data.qpos[0], data.qpos[1], 0.7]
                renderer.update_scene(data, cam)
                images.append(renderer.render().copy())
    renderer.close()
    return write_video(images, path, fps=25.0)


def plot_evaluation(results: dict[str, dict], path: str | Path) -> Path:
    """Histograms of log SDS error (real vs each corruption) and ROC curves, one row per prior."""
    from smp_gym.tools.figures import pyplot, save_figure

    plt = pyplot()
    names = list(results)
    fig, axes = plt.subplots(len(names), 2, figsize=(10, 3.2 * len(names)), squeeze=False)
    for row, name in zip(axes, names, strict=True):
        errs = results[name]["_errors"]
        bins = np.linspace(
            np.log10(min(e.min() for e in errs.values()) + 1e-9),
            np.log10(max(e.max() for e in errs.values()) + 1e-9),
            60,
        )
        for label, e in errs.items():
            row[0].hist(np.log10(e + 1e-9), bins=bins, alpha=0.5, label=label, density=True)
            if label != "real":
                thr = np.sort(np.concatenate([errs["real"], e]))[::-1]
                tpr = [(e >= t).mean() for t in thr]
                fpr = [(errs["real"] >= t).mean() for t in thr]
                auc = results[name]["corruptions"][label]["auc"]
                row[1].plot(fpr, tpr, label=f"{label} (AUC {auc:.3f})")
        row[0].set(title=f"{name}: SDS error", xlabel="log10 error", ylabel="density")
        row[0].legend(fontsize=8)
        row[1].plot([0, 1], [0, 1], "k:", lw=0.8)
        row[1].set(
            title=f"{name}: real vs corrupted ROC",
            xlabel="false positive rate",
            ylabel="true positive rate",
        )
        row[1].legend(fontsize=8, loc="lower right")
    return save_figure(fig, path, dpi=110)
