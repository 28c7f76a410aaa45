"""rsl_rl PPO (the trainer mjlab users already use) on an smp_gym task.

    python examples/rsl_rl_ppo.py --task SmpLocationG1-v0

The reference's own settings (docs/reference.md#ppo-settings): actor/critic MLP 512-256-128 ELU with
empirical observation normalization, Gaussian policy with a fixed std of 0.3, Adam 1e-3 with the
adaptive KL schedule, 24 steps/env, 5 epochs x 4 minibatches. rsl_rl bootstraps time-outs from
``extras["time_outs"]``. Writes RUN_DIR/{rsl_rl/ (TensorBoard, model_*.pt), policy.pt, play.mp4}.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import gymnasium
import torch
import tyro
from rsl_rl.runners import OnPolicyRunner
from torch import nn

import smp_gym  # noqa: F401  (registers the task ids)
from smp_gym.adapters.rsl_rl import SmpRslRlVecEnv
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
    """None: 1500 on a GPU, 150 on a CPU."""
    steps_per_env: int = 24
    learning_epochs: int = 5
    mini_batches: int = 4
    learning_rate: float = 1e-3
    desired_kl: float = 0.01
    gamma: float = 0.99
    lam: float = 0.95
    clip_param: float = 0.2
    value_loss_coef: float = 1.0
    max_grad_norm: float = 1.0
    entropy_coef: float = 0.0
    init_std: float = 0.3
    learn_std: bool = False
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
    """An rsl_rl checkpoint (RUN_DIR/rsl_rl/model_*.pt) to continue from."""
    save_interval: int = 50
    rsl_rl_console: bool = False
    """Print rsl_rl's per-iteration report on the console (it interleaves with the progress bar);
    by default it goes to RUN_DIR/rsl_rl/console.log."""
    video: bool = True
    video_steps: int = 250


def runner_cfg(args: Args, seed: int) -> dict:
    model = {
        "class_name": "MLPModel",
        "hidden_dims": list(args.hidden),
        "activation": "elu",
        "obs_normalization": True,
    }
    return {
        "seed": seed,
        "num_steps_per_env": args.steps_per_env,
        "save_interval": args.save_interval,
        "obs_groups": {"actor": ["actor"], "critic": ["critic"]},
        "logger": "tensorboard",
        "actor": {
            **model,
            "distribution_cfg": {
                "class_name": "GaussianDistribution",
                "init_std": args.init_std,
                "std_type": "scalar",
                "learn_std": args.learn_std,
            },
        },
        "critic": dict(model),
        "algorithm": {
            "class_name": "PPO",
            "value_loss_coef": args.value_loss_coef,
            "use_clipped_value_loss": True,
            "clip_param": args.clip_param,
            "entropy_coef": args.entropy_coef,
            "num_learning_epochs": args.learning_epochs,
            "num_mini_batches": args.mini_batches,
            "learning_rate": args.learning_rate,
            "schedule": "adaptive",
            "gamma": args.gamma,
            "lam": args.lam,
            "desired_kl": args.desired_kl,
            "max_grad_norm": args.max_grad_norm,
            "normalize_advantage_per_mini_batch": False,
            "optimizer": "adam",
            "rnd_cfg": None,
            "symmetry_cfg": None,
        },
    }


class AtomicRunner(OnPolicyRunner):
    """rsl_rl's runner, but a checkpoint is never left half-written (temp file + rename)."""

    def save(self, path: str, infos: dict | None = None) -> None:
        saved = {**self.alg.save(), "iter": self.current_learning_iteration, "infos": infos}
        atomic_write(Path(path), lambda tmp: torch.save(saved, tmp))
        self.logger.save_model(path, self.current_learning_iteration)


def main(args: Args) -> None:
    device, seed = training.setup_device_and_seed(args.device, args.seed)
    rank = training.rank_info()[0]
    num_envs = args.num_envs or training.default_num_envs(device)
    iterations = args.iterations or training.default_iterations(device)
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    env = gymnasium.make_vec(args.task, num_envs=num_envs, device=device, seed=seed, **overrides)
    bar = training.ProgressBar(env, iterations, args.steps_per_env, disable=rank != 0)
    run_dir = training.make_run_dir(args.out, args.task, "rsl_rl", args.name)
    training.write_args(
        run_dir, args, env, num_envs=num_envs, iterations=iterations, device=str(device)
    )

    runner = AtomicRunner(
        SmpRslRlVecEnv(env, on_step=bar.step),
        runner_cfg(args, seed),
        log_dir=str(run_dir / "rsl_rl"),
        device=str(device),
    )
    if args.resume is not None:
        runner.load(str(args.resume))
    console = run_dir / "rsl_rl" / "console.log"
    console.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if not args.rsl_rl_console:
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(console, "a"))))
        runner.learn(num_learning_iterations=iterations)
    bar.close()

    if rank == 0:
        actor = runner.alg.actor
        norm = actor.obs_normalizer  # rsl_rl normalizes as (obs - mean) / (std + eps)
        bundle = build_bundle(
            linears=[m for m in actor.mlp if isinstance(m, nn.Linear)],
            activation="elu",
            task=args.task,
            library="rsl_rl",
            obs_mean=norm.mean.float(),
            obs_var=((norm.std + norm.eps) ** 2 - 1e-8).float(),
            env=env,
            env_overrides=overrides,
            meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
        )
        training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()


if __name__ == "__main__":
    configure_gl()  # before make_vec imports mujoco, so the final clip renders headless
    main(tyro.cli(Args))
