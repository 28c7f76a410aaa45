"""Library-neutral trained policies: a bundle every example writes, and what reads it.

A bundle (``policy.pt``, loadable with ``torch.load(weights_only=True)``) holds the actor MLP
(weights, activation), its observation normalizer, the task id, the env overrides it was
trained with and the SMP reward state, so ``smp-gym eval/play/export`` work the same whichever
library trained it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import Tensor, nn

from smp_gym.episodes import episode_info
from smp_gym.errors import ConfigError

FORMAT = "smp_gym.policy/1"
ACTIVATIONS = {"elu": nn.ELU, "relu": nn.ReLU, "tanh": nn.Tanh, "silu": nn.SiLU}


class MlpPolicy(nn.Module):
    """Deterministic actor: clip((obs - mean) / std) -> MLP -> action mean."""

    def __init__(
        self, sizes: list[int], activation: str = "elu", obs_clip: float = math.inf
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ConfigError(f"activation: received {activation!r}; one of {sorted(ACTIVATIONS)}.")
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        self.net = nn.Sequential(*layers)
        self.register_buffer("obs_mean", torch.zeros(sizes[0]))
        self.register_buffer("obs_std", torch.ones(sizes[0]))
        self.obs_clip = obs_clip
        self.sizes, self.activation = list(sizes), activation

    def forward(self, obs: Tensor) -> Tensor:
        x = (obs - self.obs_mean) / self.obs_std
        if math.isfinite(self.obs_clip):
            x = x.clamp(-self.obs_clip, self.obs_clip)
        return self.net(x)


def build_bundle(
    *,
    linears: list[nn.Linear],
    activation: str,
    task: str,
    library: str,
    obs_mean: Tensor | None = None,
    obs_var: Tensor | None = None,
    obs_clip: float = math.inf,
    env=None,
    env_overrides: dict | None = None,
    meta: dict | None = None,
) -> dict:
    """Collect a trained actor's Linear layers (in order) and normalizer into a bundle."""
    sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
    policy = MlpPolicy(sizes, activation, obs_clip)
    with torch.no_grad():
        for dst, src in zip(
            [m for m in policy.net if isinstance(m, nn.Linear)], linears, strict=True
        ):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
        if obs_mean is not None:
            policy.obs_mean.copy_(obs_mean.reshape(-1))
        if obs_var is not None:
            policy.obs_std.copy_((obs_var.reshape(-1) + 1e-8).sqrt())
    return {
        "format": FORMAT,
        "task": task,
        "library": library,
        "sizes": torch.tensor(sizes),
        "activation": activation,
        "obs_clip": float(obs_clip),
        "state_dict": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
        "env_overrides_json": json.dumps(env_overrides or {}),
        "reward_state": _reward_state(env),
        "meta_json": json.dumps(meta or {}, default=str),
    }


def _reward_state(env) -> dict:
    if env is None:
        return {}
    state = env.unwrapped.state_dict()
    return {"normalizer": state["normalizer"]}


def save_bundle(bundle: dict, path: str | Path) -> Path:
    from smp_gym.files import atomic_write

    return atomic_write(Path(path), lambda tmp: torch.save(bundle, tmp))


def load_bundle(path: str | Path, device: torch.device | str = "cpu") -> tuple[MlpPolicy, dict]:
    path = Path(path)
    if path.is_dir():
        path = path / "policy.pt"
    if not path.is_file():
        raise ConfigError(
            f"checkpoint: {path} does not exist (the examples write RUN_DIR/policy.pt)."
        )
    try:
        bundle = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001
        raise ConfigError(f"checkpoint: {path} is not an smp_gym policy bundle ({err}).") from err
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise ConfigError(f"checkpoint: {path} is not an smp_gym policy bundle (format {FORMAT}).")
    policy = MlpPolicy(bundle["sizes"].tolist(), bundle["activation"], bundle["obs_clip"])
    policy.load_state_dict(bundle["state_dict"])
    return policy.to(device).eval(), bundle


def make_env_for(bundle: dict, num_envs: int, device, seed: int, render_mode: str | None = None):
    """The bundle's task env for evaluation: its overrides, no pushes, frozen reward normalizer."""
    import gymnasium

    import smp_gym  # noqa: F401 - registers the ids

    overrides = json.loads(bundle["env_overrides_json"])
    sim = dict(overrides.get("sim") or {})
    sim["push_robot"] = False
    overrides.update(sim=sim, seed=seed)
    env = gymnasium.make_vec(
        bundle["task"], num_envs=num_envs, device=device, render_mode=render_mode, **overrides
    )
    if bundle["reward_state"]:
        env.unwrapped.reward.normalizer.load_state_dict(bundle["reward_state"]["normalizer"])
    env.unwrapped.reward.normalizer.freeze()
    return env


@torch.no_grad()
def evaluate(
    checkpoint: str | Path, episodes: int = 16, num_envs: int = 8, device="auto", seed: int = 0
) -> dict:
    """Roll out the deterministic policy until ``episodes`` episodes end; aggregate their stats
    and the task's declared metrics (``env.metric_specs``)."""
    from smp_gym.device import resolve_device

    dev = resolve_device(device)
    policy, bundle = load_bundle(checkpoint, dev)
    env = make_env_for(bundle, num_envs, dev, seed)
    u = env.unwrapped
    obs, _ = env.reset(seed=seed)
    rows: list[dict] = []
    steps = 0
    limit = (episodes // num_envs + 2) * u.max_episode_steps
    while len(rows) < episodes and steps < limit:
        obs, _, terminated, truncated, info = env.step(policy(obs))
        steps += 1
        if "_smp_episode/length" in info:
            fin = episode_info(info)
            for i in info["_smp_episode/length"].nonzero().flatten().tolist():
                row = {k: float(v[i]) for k, v in fin.items()}
                row.update(length=int(fin["length"][i]), terminated=bool(terminated[i]))
                rows.append(row)
    env.close()
    return summarize(bundle["task"], rows[:episodes], u.metric_specs, u.sim.step_dt)


def summarize(task: str, rows: list[dict], metric_specs: dict, step_dt: float) -> dict:
    """Episode statistics, the mean episode value of each declared metric (key: its name) and,
    when the task declares a ``success`` metric, the success rate (mean of its values in [0, 1])
    and the mean length of the successful episodes. ``metric_titles`` holds each metric's label
    and unit for display; metrics summed over an episode also get ``<name>_per_min``.
    Terminations are falls, self-collisions, unnatural motion or a task's own (Dodgeball's hits)."""
    if not rows:
        raise ConfigError("evaluate: no episode finished; raise --episodes' step budget.")
    mean = lambda k: sum(r[k] for r in rows) / len(rows)  # noqa: E731
    out = {
        "task": task,
        "episodes": len(rows),
        "episode_return": mean("return"),
        "episode_length": mean("length"),
        "episode_length_s": mean("length") * step_dt,
        "mean_r_smp": mean("smp_reward"),
        "mean_sds_error": mean("sds_error"),
        "task_return": mean("task_return"),
        "fall_rate": mean("terminated"),
    }
    minutes = sum(r["length"] for r in rows) * step_dt / 60.0
    for name, m in metric_specs.items():
        out[name] = mean(name)
        if m.reduce == "sum":  # counts (e.g. Dodgeball's dodges): also per minute of play
            out[f"{name}_per_min"] = sum(r[name] for r in rows) / minutes
    success = next((m for m in metric_specs.values() if m.success), None)
    if success is not None:
        out["success_metric"] = success.name
        out["success_rate"] = mean(success.name)
        won = [r for r in rows if r[success.name] >= 0.5]
        out["success_episode_length_s"] = (
            sum(r["length"] for r in won) / len(won) * step_dt if won else None
        )
    out["metric_titles"] = {name: m.title for name, m in metric_specs.items()}
    return out


@torch.no_grad()
def play(
    checkpoint,
    out: Path | None = None,
    steps: int = 250,
    num_envs: int = 1,
    device="auto",
    seed: int = 0,
) -> Path:
    """Render env 0 of a policy rollout to ``out`` (.mp4 or .gif): MuJoCo's offscreen renderer, or
    a stick figure (one warning saying how to get the real view) when no OpenGL backend works."""
    from smp_gym.device import resolve_device
    from smp_gym.tools.render import NO_GL_HINT, configure_gl, offscreen_backend, write_video

    configure_gl()
    dev = resolve_device(device)
    policy, bundle = load_bundle(checkpoint, dev)
    env, draw, problem = None, None, NO_GL_HINT
    if offscreen_backend() is not None:
        try:
            env = make_env_for(bundle, num_envs, dev, seed, render_mode="rgb_array")
            obs, _ = env.reset(seed=seed)
            draw = lambda: env.render()[0]  # noqa: E731 - env 0 of the lazy per-env frames
            frames = [draw()]
        except Exception as err:  # noqa: BLE001 - GL backends fail in assorted ways: fall back
            if env is not None:
                env.close()
            problem = f"offscreen rendering failed ({type(err).__name__}: {err}); {NO_GL_HINT}"
    if draw is None:
        import warnings

        warnings.warn(problem, stacklevel=2)
        env = make_env_for(bundle, num_envs, dev, seed)
        draw = _stick_figure(env)
        obs, _ = env.reset(seed=seed)
        frames = [draw()]
    for _ in range(steps):
        obs, *_ = env.step(policy(obs))
        frames.append(draw())
    fps = 1.0 / env.unwrapped.sim.step_dt
    env.close()
    ckpt = Path(checkpoint)
    out = Path(out) if out else (ckpt if ckpt.is_dir() else ckpt.parent) / "play.mp4"
    return write_video(frames, out, fps=fps)


def _stick_figure(env):
    """A frame function drawing env 0's bodies as a stick figure (no OpenGL needed)."""
    from smp_gym.tools.skeleton import SkeletonRenderer

    sim = env.unwrapped.sim
    robot = sim.scene["robot"]
    ids = [int(i) for i in robot.data.indexing.body_ids.tolist()]
    parent = [int(sim.sim.mj_model.body_parentid[b]) for b in ids]
    skeleton = SkeletonRenderer([ids.index(p) if p in ids else -1 for p in parent])
    origin = sim.scene.env_origins[0]
    return lambda: skeleton.render((robot.data.body_link_pos_w[0] - origin).cpu().numpy())


def export_onnx(checkpoint, out: Path | None = None) -> Path:
    """ONNX graph ``obs [batch, obs_dim] -> actions [batch, act_dim]`` (normalizer included)."""
    policy, bundle = load_bundle(checkpoint)
    ckpt = Path(checkpoint)
    out = Path(out) if out else (ckpt if ckpt.is_dir() else ckpt.parent) / "policy.onnx"
    example = torch.zeros(1, policy.sizes[0])
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(
        policy,
        (example,),
        str(out),
        input_names=["obs"],
        output_names=["actions"],
        dynamic_shapes={"obs": {0: batch}},
        dynamo=True,
        verbose=False,
    )
    return out
