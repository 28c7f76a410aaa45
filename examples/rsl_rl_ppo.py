"""rsl_rl PPO (the trainer mjlab users already use) on an smp_gym task.

    python examples/rsl_rl_ppo.py --task SmpLocationG1-v0

The reference's own settings (SEED_SPEC §5.6): actor/critic MLP 512-256-128 ELU with empirical
observation normalization, Gaussian policy with a fixed std of 0.3, Adam 1e-3 with the adaptive
KL schedule, 24 steps/env, 5 epochs x 4 minibatches. rsl_rl bootstraps time-outs from
``extras["time_outs"]``. Writes RUN_DIR/{rsl_rl/ (TensorBoard, model_*.pt), policy.pt, play.mp4}.
"""

from __future__ import annotations

import dataclasses
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
    """None: 1500 on a GPU, 150 on a CPU."""
    steps_per_env: int = 24
    learning_rate: float = 1e-3
    desired_kl: float = 0.01
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
    video: bool = True
    video_steps: int = 250


def runner_cfg(args: Args, seed: int) -> dict:
    model = {"class_name": "MLPModel", "hidden_dims": list(args.hidden), "activation": "elu",
             "obs_normalization": True}  # fmt: skip
    return {
        "seed": seed, "num_steps_per_env": args.steps_per_env, "save_interval": args.save_interval,
        "obs_groups": {"actor": ["actor"], "critic": ["critic"]}, "logger": "tensorboard",
        "actor": {**model, "distribution_cfg": {"class_name": "GaussianDistribution", "init_std": args.init_std,
                                                "std_type": "scalar", "learn_std": args.learn_std}},
        "critic": dict(model),
        "algorithm": {"class_name": "PPO", "value_loss_coef": 1.0, "use_clipped_value_loss": True,
                      "clip_param": 0.2, "entropy_coef": args.entropy_coef, "num_learning_epochs": 5,
                      "num_mini_batches": 4, "learning_rate": args.learning_rate, "schedule": "adaptive",
                      "gamma": 0.99, "lam": 0.95, "desired_kl": args.desired_kl, "max_grad_norm": 1.0,
                      "normalize_advantage_per_mini_batch": False, "optimizer": "adam", "rnd_cfg": None,
                      "symmetry_cfg": None},
    }  # fmt: skip


def main(args: Args) -> None:
    from rsl_rl.runners import OnPolicyRunner

    from smp_gym.adapters.rsl_rl import SmpRslRlVecEnv
    from smp_gym.files import atomic_write
    from smp_gym.tools.policy import build_bundle

    device, seed = training.setup_device_and_seed(args.device, args.seed)
    num_envs = args.num_envs or training.default_num_envs(device)
    iterations = args.iterations or training.default_iterations(device)
    run_dir = training.make_run_dir(args.out, args.task, "rsl_rl", args.name)
    training.write_json(run_dir / "args.json", {**dataclasses.asdict(args), "num_envs": num_envs,
                                                "iterations": iterations, "device": str(device)})  # fmt: skip
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    env = gymnasium.make_vec(args.task, num_envs=num_envs, device=device, seed=seed, **overrides)
    class AtomicRunner(OnPolicyRunner):
        """rsl_rl's runner, but a checkpoint is never left half-written (temp file + rename)."""

        def save(self, path: str, infos: dict | None = None) -> None:
            saved = {**self.alg.save(), "iter": self.current_learning_iteration, "infos": infos}
            atomic_write(Path(path), lambda tmp: torch.save(saved, tmp))

    runner = AtomicRunner(SmpRslRlVecEnv(env), runner_cfg(args, seed), log_dir=str(run_dir / "rsl_rl"),
                          device=str(device))  # fmt: skip
    if args.resume is not None:
        runner.load(str(args.resume))
    runner.learn(num_learning_iterations=iterations)

    if training.rank_info()[0] == 0:
        actor = runner.alg.actor
        norm = actor.obs_normalizer
        bundle = build_bundle(
            linears=[m for m in actor.mlp if isinstance(m, nn.Linear)], activation="elu", task=args.task,
            library="rsl_rl", obs_mean=norm._mean.float(), obs_var=norm._var.float(), env=env,
            env_overrides=overrides, meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
        )  # fmt: skip
        training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()


if __name__ == "__main__":
    main(tyro.cli(Args))
