"""Stable-Baselines3 PPO on an smp_gym task, through smp_gym.adapters.sb3 (a real SB3 VecEnv).

    python examples/sb3_ppo.py --task SmpForwardG1-v0

SB3 gets numpy at the adapter boundary, observation normalization from its own VecNormalize,
and exact time-limit bootstrapping from ``terminal_observation`` (the env's true final obs).
Writes RUN_DIR/{sb3/ (TensorBoard), checkpoints/, policy.pt, play.mp4}.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from smp_gym.tools.render import configure_gl

configure_gl()

import gymnasium  # noqa: E402
import torch  # noqa: E402
import tyro  # noqa: E402
from torch import nn  # noqa: E402

import smp_gym  # noqa: E402, F401
from smp_gym.tools import training  # noqa: E402


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    num_envs: int | None = None
    """None: 4096 on a GPU, 16 on a CPU."""
    iterations: int | None = None
    """PPO iterations of ``n_steps`` per env. None: 1500 on a GPU, 150 on a CPU."""
    n_steps: int = 24
    n_epochs: int = 5
    mini_batches: int = 4
    learning_rate: float = 3e-4
    target_kl: float | None = 0.02
    init_std: float = 0.3
    hidden: tuple[int, ...] = (512, 256, 128)
    prior: str | None = None
    """Shipped prior name or .safetensors path (None: the task's default)."""
    gsi_pool_size: int | None = None
    """GSI pool size (None: 4096 on a GPU, 1024 on a CPU)."""
    seed: int = 0
    device: str = "auto"
    out: Path = Path("runs")
    name: str | None = None
    resume: Path | None = None
    """A checkpoint folder written by this script (RUN_DIR/checkpoints/) to continue from."""
    checkpoint_every: int = 50
    """Iterations between checkpoints."""
    video: bool = True
    video_steps: int = 250


def save_checkpoint(model, vec, folder: Path) -> None:
    """model.zip + vecnormalize.pkl in ``folder``, neither ever half-written."""
    from smp_gym.files import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "model.zip", lambda tmp: model.save(str(tmp)))
    atomic_write(folder / "vecnormalize.pkl", lambda tmp: vec.save(str(tmp)))


def main(args: Args) -> None:
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList
    from stable_baselines3.common.vec_env import VecNormalize

    from smp_gym.adapters.sb3 import SmpLogCallback, SmpSb3VecEnv
    from smp_gym.tools.policy import build_bundle

    device, seed = training.setup_device_and_seed(args.device, args.seed)
    num_envs = args.num_envs or training.default_num_envs(device)
    iterations = args.iterations or training.default_iterations(device)
    run_dir = training.make_run_dir(args.out, args.task, "sb3", args.name)
    training.write_json(run_dir / "args.json", {**dataclasses.asdict(args), "num_envs": num_envs,
                                                "iterations": iterations, "device": str(device)})  # fmt: skip
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    env = gymnasium.make_vec(args.task, num_envs=num_envs, device=device, seed=seed, **overrides)
    vec = SmpSb3VecEnv(env)
    if args.resume is not None:
        vec = VecNormalize.load(str(Path(args.resume) / "vecnormalize.pkl"), vec)
        model = PPO.load(str(Path(args.resume) / "model.zip"), env=vec, device=device)
    else:
        vec = VecNormalize(vec, norm_obs=True, norm_reward=False, clip_obs=10.0, gamma=0.99)
        model = PPO(
            "MlpPolicy", vec, n_steps=args.n_steps, batch_size=num_envs * args.n_steps // args.mini_batches,
            n_epochs=args.n_epochs, learning_rate=args.learning_rate, gamma=0.99, gae_lambda=0.95,
            clip_range=0.2, ent_coef=0.0, vf_coef=1.0, max_grad_norm=1.0, target_kl=args.target_kl,
            policy_kwargs={"net_arch": {"pi": list(args.hidden), "vf": list(args.hidden)},
                           "activation_fn": nn.ELU, "log_std_init": math.log(args.init_std)},
            tensorboard_log=str(run_dir / "sb3"), seed=seed, device=device, verbose=0,
        )  # fmt: skip
    ckpt_dir = run_dir / "checkpoints"

    class AtomicCheckpoints(BaseCallback):
        """Every ``checkpoint_every`` iterations: model + VecNormalize, each via temp file + rename."""

        def _on_step(self) -> bool:
            if self.n_calls % max(1, args.checkpoint_every * args.n_steps) == 0:
                save_checkpoint(model, vec, ckpt_dir)
            return True

    callbacks = CallbackList([SmpLogCallback(), AtomicCheckpoints()])
    model.learn(total_timesteps=iterations * args.n_steps * num_envs, callback=callbacks,
                progress_bar=True, reset_num_timesteps=args.resume is None)  # fmt: skip
    save_checkpoint(model, vec, ckpt_dir)

    if training.rank_info()[0] == 0:
        policy = model.policy
        linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] + [policy.action_net]
        rms = vec.obs_rms
        bundle = build_bundle(
            linears=linears, activation="elu", task=args.task, library="sb3",
            obs_mean=torch.as_tensor(rms.mean, dtype=torch.float32),
            obs_var=torch.as_tensor(rms.var, dtype=torch.float32), obs_clip=vec.clip_obs, env=env,
            env_overrides=overrides, meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
        )  # fmt: skip
        training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()


if __name__ == "__main__":
    main(tyro.cli(Args))
