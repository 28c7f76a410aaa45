"""``smp-gym view``: a live browser viewer (viser) of an SmpVectorEnv, with the SMP reward on screen.

Reused from mjlab 1.6's viser viewer (``mjlab/viewer/viser/``): ``MjlabViserScene`` draws the
MuJoCo scene (robots, the Dodgeball ball, the floor) from the simulator's batched state, with its
env selector, camera tracking and FOV controls (``create_scene_gui``) and its debug primitives
(``add_arrow``/``add_sphere``), which show the command. Added here: where actions come from
(policy bundle / random / GSI start states), live uPlot charts of the selected env's task reward,
``r_smp``, SDS error per diffusion step and task metrics, command sliders, pause / step / reset,
record-clip (MP4 from ``env.render()``) and a status block with the env's command as JSON.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from smp_gym.tools import viewer_control as vc

HISTORY = 250  # plotted steps (5 s at 50 Hz)
CLIP_MAX = 1500  # frames per clip (30 s); the recording stops and saves there
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


class Charts:
    """uPlot charts in the page; each chart plots a group of named series over the last steps."""

    def __init__(self, server, groups: dict[str, list[str]]) -> None:
        import viser

        self.groups, self.history = groups, {}
        self.plots = {}
        for title, names in groups.items():
            for name in names:
                self.history[name] = deque(maxlen=HISTORY)
            series = [viser.uplot.Series(label="step")] + [
                viser.uplot.Series(label=n, stroke=COLORS[i % len(COLORS)], width=2)
                for i, n in enumerate(names)
            ]
            empty = tuple(np.zeros(0) for _ in range(len(names) + 1))
            self.plots[title] = server.gui.add_uplot(
                data=empty,
                series=tuple(series),
                scales={"x": viser.uplot.Scale(time=False, auto=True)},
                legend=viser.uplot.Legend(show=True),
                title=title,
                aspect=2.0,
            )

    def push(self, step: int, values: dict[str, float]) -> None:
        for name, hist in self.history.items():
            hist.append((step, values.get(name, np.nan)))

    def draw(self) -> None:
        for title, names in self.groups.items():
            rows = np.array([[s for s, _ in self.history[names[0]]]], dtype=np.float64)
            ys = [np.array([v for _, v in self.history[n]], dtype=np.float64) for n in names]
            self.plots[title].data = (rows[0], *ys)

    def clear(self) -> None:
        for hist in self.history.values():
            hist.clear()


class Viewer:
    """The page and the loop that steps the env. ``mode``: ``policy``, ``random`` or ``gsi``."""

    def __init__(self, env, actions, mode: str, host: str, port: int, out: Path, gsi_s: float):
        import viser
        from mjlab.viewer.viser import MjlabViserScene

        self.env, self.actions, self.mode, self.out, self.gsi_s = env, actions, mode, out, gsi_s
        self.env.reward = vc.RecordingReward(env.reward)  # keeps the per-K SDS error
        self.server = viser.ViserServer(host=host, port=port, label="smp-gym view", verbose=False)
        self.url = f"http://{host}:{self.server.get_port()}"
        sim = env.sim.sim
        self.scene = MjlabViserScene(
            self.server, sim.mj_model, env.num_envs, sim.model, sim.expanded_fields
        )
        self.scene.debug_visualization_enabled = True
        self.paused, self.stop = False, threading.Event()
        self.pending: list = []  # GUI requests, run by the loop between steps
        self.lock = threading.Lock()
        self.steps, self.frames, self.clips = 0, None, 0
        self.obs, self.signals, self._syncing = None, {}, False
        self._shown: dict | None = None  # the command the sliders show (None: not yet read)
        self._build_gui()

    # ------------------------------------------------------------------ page
    def _build_gui(self) -> None:
        gui = self.server.gui
        tabs = gui.add_tab_group()
        with tabs.add_tab("Controls"):
            self.status = gui.add_html("")
            with gui.add_folder("Simulation"):
                self.pause_btn = gui.add_button("Pause")
                self.step_btn = gui.add_button("Step" if self.mode != "gsi" else "Next start")
                self.reset_btn = gui.add_button("Reset")
                self.record_btn = gui.add_button("Record clip")
            self.pause_btn.on_click(lambda _: self._request(self._toggle_pause))
            self.step_btn.on_click(lambda _: self._request(self._advance))
            self.reset_btn.on_click(lambda _: self._request(self._reset))
            self.record_btn.on_click(lambda _: self._request(self._toggle_record))
            self._build_command_gui()
            with gui.add_folder("Scene"):
                cam = self.env.sim.cfg.viewer
                self.scene.create_scene_gui(
                    camera_distance=cam.distance,
                    camera_azimuth=cam.azimuth,
                    camera_elevation=-cam.elevation,
                    show_debug_viz_control=False,
                )
        with tabs.add_tab("Plots"):
            ks = [f"sds_t{k}" for k in self.env.reward.cfg.timesteps]
            metrics = [f"metric_{m}" for m in self.env.metric_specs]
            groups = {
                "rewards": ["reward", "task_reward", "smp_reward"],
                "SDS error per diffusion step": ["sds_error", *ks],
            }
            if metrics:
                groups["task metrics"] = metrics
            self.charts = Charts(self.server, groups)

    def _build_command_gui(self) -> None:
        spec = vc.command_spec(self.env)
        self.sliders = {}
        if spec is None:
            return
        with self.server.gui.add_folder("Command (selected env)"):
            now = vc.read_command(self.env, 0)
            for name, lo, hi, step in spec.fields:
                s = self.server.gui.add_slider(
                    name, min=lo, max=hi, step=step, initial_value=float(now.get(name, lo))
                )
                s.on_update(lambda _, n=name, s=s: self._on_slider(n, s.value))
                self.sliders[name] = s

    def _request(self, fn, *args) -> None:
        with self.lock:
            self.pending.append((fn, args))

    def _on_slider(self, name: str, value: float) -> None:
        if not self._syncing:  # not an echo of _sync_sliders
            self._request(self._set_command, name, value)

    def _sync_sliders(self, now: dict[str, float]) -> None:
        """Show the selected env's command ``now`` on the sliders (each frame that finds it
        changed: a reset by hand or automatic drew a new one, or another env is selected)."""
        self._syncing = True
        try:
            for name, slider in self.sliders.items():
                slider.value = now.get(name, slider.value)
        finally:
            self._syncing = False
        self._shown = now

    def _set_command(self, name: str, value: float) -> None:
        env_id = self.scene.env_idx
        now = vc.set_command(self.env, env_id, **{name: float(value)})
        self._shown = now  # the sliders already show it
        print(json.dumps({"event": "command", "env": env_id, "command": now}), flush=True)

    def _toggle_pause(self) -> None:
        self.paused = not self.paused
        self.pause_btn.label = "Play" if self.paused else "Pause"

    def _toggle_record(self) -> None:
        if self.frames is None:
            self.frames = []
            self.record_btn.label = "Stop and save clip"
        else:
            self._save_clip()

    def _save_clip(self) -> None:
        from smp_gym.tools.render import write_video

        frames, self.frames = self.frames, None
        self.record_btn.label = "Record clip"
        if not frames:
            return
        self.clips += 1
        path = write_video(frames, self.out / f"clip-{self.clips:03d}.mp4", fps=50)
        self.last_clip = path
        print(json.dumps({"event": "clip", "path": str(path), "frames": len(frames)}), flush=True)

    # ------------------------------------------------------------------ loop
    def _reset(self) -> None:
        self.obs, _ = self.env.reset()
        self.charts.clear()  # the next frame shows the new command on the sliders

    def _advance(self) -> None:
        """One env step (or, in GSI mode, the next start states drawn from the prior)."""
        if self.mode == "gsi":
            self._reset()
            self.steps += 1
            return
        obs, reward, _, _, info = self.env.step(self.actions(self.obs))
        self.obs, self.steps = obs, self.steps + 1
        self.signals = vc.step_signals(self.env, info, reward, self.scene.env_idx)
        self.charts.push(self.steps, self.signals)
        if self.frames is not None:
            self.frames.append(self.env.render()[self.scene.env_idx])
            if len(self.frames) >= CLIP_MAX:
                self._save_clip()

    def _draw(self) -> None:
        env_id = self.scene.env_idx
        self.scene.clear()
        for start, end, kind in vc.command_arrows(self.env, env_id):
            color = {"velocity": (0.1, 0.8, 0.1, 1.0), "facing": (0.1, 0.4, 1.0, 1.0)}
            if kind == "goal":
                self.scene.add_sphere(end, 0.15, (1.0, 0.2, 0.2, 1.0))
            self.scene.add_arrow(start, end, color.get(kind, (1.0, 0.2, 0.2, 1.0)), 0.02)
        with self.server.atomic():
            self.scene.update(self.env.sim.sim.data)
        self.charts.draw()
        now = vc.read_command(self.env, env_id)
        if now != self._shown:  # the env drew a new command, or another env is selected
            self._sync_sliders(now)
        command = json.dumps(now)
        sig = " ".join(f"{k}={v:.3f}" for k, v in self.signals.items() if not k.startswith("sds_t"))
        self.status.content = (
            f"<div style='font-size:0.8em'><b>{self.env.info.id}</b> · {self.mode} · "
            f"step {self.steps} · {'paused' if self.paused else 'running'}"
            f"{' · recording' if self.frames is not None else ''}<br>env {env_id} "
            f"<span id='smp-command'>command {command}</span><br>{sig}</div>"
        )

    def run(self, max_steps: int | None = None) -> None:
        self._reset()
        print(f"smp-gym view: {self.url}", flush=True)
        last_gsi = time.monotonic()
        while not self.stop.is_set() and (max_steps is None or self.steps < max_steps):
            t0 = time.monotonic()
            with self.lock:
                pending, self.pending = self.pending, []
            for fn, args in pending:
                fn(*args)
            if not self.paused and (self.mode != "gsi" or t0 - last_gsi >= self.gsi_s):
                self._advance()
                last_gsi = t0
            self._draw()
            time.sleep(max(0.0, self.env.sim.step_dt - (time.monotonic() - t0)))

    def close(self) -> None:
        self.stop.set()
        self.server.stop()


def view(
    task: str,
    checkpoint: str | None = None,
    random: bool = False,
    gsi: bool = False,
    num_envs: int = 1,
    port: int = 8080,
    host: str = "127.0.0.1",
    device: str = "cpu",
    out: str = "runs/view",
    gsi_interval_s: float = 1.0,
    seed: int = 0,
    max_steps: int | None = None,
) -> None:
    """Serve the viewer until interrupted (or ``max_steps`` env steps). See docs/viewer.md."""
    from smp_gym.errors import ConfigError
    from smp_gym.tools.render import configure_gl

    if sum((checkpoint is not None, random, gsi)) > 1:
        raise ConfigError("view: pass at most one of --checkpoint, --random, --gsi.")
    configure_gl()  # record-clip renders offscreen (or stick figures without GL)
    env, policy = _make_env(task, checkpoint, num_envs, device, seed, gsi)
    mode = "policy" if policy is not None else "gsi" if gsi else "random"
    actions = vc.ActionSource(env, policy, random=mode == "random", seed=seed)
    viewer = Viewer(env, actions, mode, host, port, Path(out), gsi_interval_s)
    try:
        viewer.run(max_steps)
    except KeyboardInterrupt:
        pass
    finally:
        viewer.close()
        env.close()


def _make_env(task, checkpoint, num_envs, device, seed, gsi):
    import gymnasium

    import smp_gym  # noqa: F401 - registers the ids
    from smp_gym.device import resolve_device

    dev = resolve_device(device)
    if checkpoint is not None:
        from smp_gym.tools.policy import load_bundle, make_env_for

        policy, bundle = load_bundle(checkpoint, dev)
        if task and bundle["task"] != task:
            from smp_gym.errors import ConfigError

            raise ConfigError(f"view: {checkpoint} is a {bundle['task']} policy, not {task}.")
        env = make_env_for(bundle, num_envs, dev, seed, render_mode="rgb_array")
        return env.unwrapped, policy
    small = {"pool_size": 64 * num_envs, "batch_size": 64} if dev.type == "cpu" else {}
    env = gymnasium.make_vec(
        task,
        num_envs=num_envs,
        device=dev,
        render_mode="rgb_array",
        seed=seed,
        gsi=small if gsi or dev.type == "cpu" else None,
    )
    return env.unwrapped, None
