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

import gymnasium
import torch
import tyro
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecNormalize
from torch import nn

import smp_gym  # noqa: F401  (registers the task ids)
from smp_gym.adapters.sb3 import SmpLogCallback, SmpSb3VecEnv
from smp_gym.files import atomic_write
from smp_gym.tools import training
from smp_gym.tools.policy import build_bundle
from smp_gym.tools.render import configure_gl


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
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 1.0
    max_grad_norm: float = 1.0
    clip_obs: float = 10.0
    """VecNormalize's observation clip (in standard deviations)."""
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
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "model.zip", lambda tmp: model.save(str(tmp)))
    atomic_write(folder / "vecnormalize.pkl", lambda tmp: vec.save(str(tmp)))


class Checkpoints(BaseCallback):
    """Every ``every`` rollouts: model + VecNormalize, each via temp file + rename."""

    def __init__(self, folder: Path, every: int) -> None:
        super().__init__()
        self.folder, self.every, self.rollouts = folder, every, 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        if self.rollouts % self.every == 0:
            save_checkpoint(self.model, self.model.get_env(), self.folder)


class Progress(BaseCallback):
    """A progress bar over PPO iterations showing return, r_smp and the task's error; ends
    ``learn()`` at the next env step once Ctrl-C was pressed (the last update is kept)."""

    def __init__(
        self, smp_vec: SmpSb3VecEnv, bar: training.ProgressBar, stop: training.GracefulStop
    ) -> None:
        super().__init__()
        self.smp_vec, self.bar, self.stop = smp_vec, bar, stop

    def _on_step(self) -> bool:
        self.bar.step(self.smp_vec.latest_info)
        return not self.stop.requested


def main(args: Args) -> None:
    device, seed = training.setup_device_and_seed(args.device, args.seed)
    num_envs = args.num_envs or training.default_num_envs(device)
    iterations = args.iterations or training.default_iterations(device)
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    env = gymnasium.make_vec(args.task, num_envs=num_envs, device=device, seed=seed, **overrides)
    smp_vec = SmpSb3VecEnv(env)
    run_dir = training.make_run_dir(args.out, args.task, "sb3", args.name)
    training.write_args(
        run_dir, args, env, num_envs=num_envs, iterations=iterations, device=str(device)
    )
    if args.resume is not None:
        vec = VecNormalize.load(str(Path(args.resume) / "vecnormalize.pkl"), smp_vec)
        model = PPO.load(str(Path(args.resume) / "model.zip"), env=vec, device=device)
    else:
        vec = VecNormalize(
            smp_vec, norm_obs=True, norm_reward=False, clip_obs=args.clip_obs, gamma=args.gamma
        )
        model = PPO(
            "MlpPolicy",
            vec,
            n_steps=args.n_steps,
            batch_size=num_envs * args.n_steps // args.mini_batches,
            n_epochs=args.n_epochs,
            learning_rate=args.learning_rate,
            gamma=args.gamma,
            gae_lambda=args.gae_lambda,
            clip_range=args.clip_range,
            ent_coef=args.ent_coef,
            vf_coef=args.vf_coef,
            max_grad_norm=args.max_grad_norm,
            target_kl=args.target_kl,
            policy_kwargs={
                "net_arch": {"pi": list(args.hidden), "vf": list(args.hidden)},
                "activation_fn": nn.ELU,
                "log_std_init": math.log(args.init_std),
            },
            tensorboard_log=str(run_dir / "sb3"),
            seed=seed,
            device=device,
            verbose=0,
        )
    ckpt_dir = run_dir / "checkpoints"
    bar = training.ProgressBar(env, iterations, args.n_steps, disable=training.rank_info()[0] != 0)
    stop = training.GracefulStop()  # Ctrl-C: save, then end
    callbacks = CallbackList(
        [
            SmpLogCallback(),
            Checkpoints(ckpt_dir, args.checkpoint_every),
            Progress(smp_vec, bar, stop),
        ]
    )
    with stop:
        model.learn(
            total_timesteps=iterations * args.n_steps * num_envs,
            callback=callbacks,
            reset_num_timesteps=args.resume is None,
        )
    bar.close()
    if stop.requested:
        done = model.num_timesteps // (args.n_steps * num_envs)  # whole rollouts, each updated
        print(f"\nstopped by Ctrl-C after iteration {done} of {iterations}")
    save_checkpoint(model, vec, ckpt_dir)

    if training.rank_info()[0] == 0:
        policy = model.policy
        linears = [m for m in policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] + [
            policy.action_net
        ]
        rms = vec.obs_rms
        bundle = build_bundle(
            linears=linears,
            activation="elu",
            task=args.task,
            library="sb3",
            obs_mean=torch.as_tensor(rms.mean, dtype=torch.float32),
            obs_var=torch.as_tensor(rms.var, dtype=torch.float32),
            obs_clip=vec.clip_obs,
            env=env,
            env_overrides=overrides,
            meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
        )
        training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()


if __name__ == "__main__":
    configure_gl()  # before make_vec imports mujoco, so the final clip renders headless
    main(tyro.cli(Args))
