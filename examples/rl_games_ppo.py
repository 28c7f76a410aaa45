"""rl_games PPO (the trainer Isaac Lab users know) on an smp_gym task, run by rl_games' own Runner.

    python examples/rl_games_ppo.py                      # sized for the machine it finds
    python examples/rl_games_ppo.py --task SmpGetupG1-v0 --num-envs 4096 --iterations 3000

The reference's settings, as in the other examples (docs/reference.md#ppo-settings): actor MLP
512-256-128 ELU on normalized observations, a fixed action std of 0.3, an asymmetric critic (same
MLP, rl_games' ``central_value_config``) on the env's ``state()``, 24 steps per env, 5 epochs x 4
minibatches, Adam 1e-3 with the adaptive KL schedule (0.01), γ 0.99, λ 0.95. rl_games bootstraps
time-outs from ``infos["time_outs"]``; its ``IsaacAlgoObserver`` logs our episode statistics as
``Episode/<stat>``. ``clip_actions`` is off: the network's output is the env's action (the env
clips it to its finite bounds), so the std of 0.3 is in the env's action units.
Writes RUN_DIR/{rl_games/ (summaries/ for TensorBoard, nn/*.pth), policy.pt, play.mp4, args.json}.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from pathlib import Path

import gymnasium
import tyro
from rl_games.common.algo_observer import IsaacAlgoObserver
from rl_games.torch_runner import Runner
from torch import nn

import smp_gym  # noqa: F401  (registers the task ids)
from smp_gym.adapters.rl_games import SmpRlGamesVecEnv, register
from smp_gym.tools import training
from smp_gym.tools.policy import build_bundle
from smp_gym.tools.render import configure_gl

OBS_CLIP = 5.0  # rl_games' RunningMeanStd clamps normalized observations to ±5
OBS_EPS = 1e-5  # ... and divides by sqrt(var + 1e-5)


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    num_envs: int | None = None
    """None: 4096 on a GPU, 16 on a CPU."""
    iterations: int | None = None
    """PPO epochs (rollouts of ``horizon`` steps). None: 1500 on a GPU, 150 on a CPU."""
    horizon: int = 24
    mini_epochs: int = 5
    mini_batches: int = 4
    learning_rate: float = 1e-3
    kl_threshold: float = 0.01
    gamma: float = 0.99
    tau: float = 0.95
    e_clip: float = 0.2
    grad_norm: float = 1.0
    critic_coef: float = 1.0
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
    """An rl_games checkpoint (RUN_DIR/rl_games/nn/*.pth) to continue from."""
    checkpoint_every: int = 50
    """Epochs between rl_games' ``last_*`` checkpoints."""
    torch_compile: bool = False
    """rl_games' torch.compile of the networks."""
    rl_games_console: bool = False
    """Print rl_games' per-epoch report (it interleaves with the progress bar); by default it
    goes to RUN_DIR/rl_games/console.log."""
    video: bool = True
    video_steps: int = 250


def rl_games_cfg(args: Args, env_name: str, num_envs: int, iterations: int, **where) -> dict:
    """rl_games' ``{"params": ...}`` for a2c_continuous with a central-value critic on
    ``states``. ``where``: ``device``, ``train_dir``, ``seed``."""
    mlp = {"units": list(args.hidden), "activation": "elu", "initializer": {"name": "default"}}
    minibatch = num_envs * args.horizon // args.mini_batches
    continuous = {
        "mu_activation": "None",
        "sigma_activation": "None",
        "mu_init": {"name": "default"},
        "sigma_init": {"name": "const_initializer", "val": math.log(args.init_std)},
        "fixed_sigma": True,
    }
    return {
        "params": {
            "seed": where["seed"],
            "torch_threads": 0,  # leave torch's thread count as the process set it
            "algo": {"name": "a2c_continuous"},
            "model": {"name": "continuous_a2c_logstd"},
            "network": {
                "name": "actor_critic",
                "separate": False,
                "space": {"continuous": continuous},
                "mlp": mlp,
            },
            "config": {
                "name": env_name,
                "env_name": env_name,
                "full_experiment_name": "rl_games",
                "train_dir": str(where["train_dir"]),
                "device": str(where["device"]),
                "device_name": str(where["device"]),
                "num_actors": num_envs,
                "max_epochs": iterations,
                "horizon_length": args.horizon,
                "minibatch_size": minibatch,
                "mini_epochs": args.mini_epochs,
                "learning_rate": args.learning_rate,
                "lr_schedule": "adaptive",
                "kl_threshold": args.kl_threshold,
                "gamma": args.gamma,
                "tau": args.tau,
                "e_clip": args.e_clip,
                "clip_value": True,
                "critic_coef": args.critic_coef,
                "entropy_coef": args.entropy_coef,
                "grad_norm": args.grad_norm,
                "truncate_grads": True,
                "normalize_input": True,
                "normalize_value": True,
                "normalize_advantage": True,
                "value_bootstrap": True,
                "reward_shaper": {"scale_value": 1.0},
                "clip_actions": False,
                "bounds_loss_coef": 0.0,  # its soft bound is ±1.1, our bounds are wider
                "mixed_precision": False,
                "torch_compile": args.torch_compile,
                "save_frequency": args.checkpoint_every,
                "save_best_after": 10**9,  # only the periodic and final checkpoints
                "print_stats": True,
                "use_experimental_cv": False,  # values come from the critic on state() only
                "central_value_config": {
                    "minibatch_size": minibatch,
                    "mini_epochs": args.mini_epochs,
                    "learning_rate": args.learning_rate,
                    "lr_schedule": "adaptive",
                    "kl_threshold": args.kl_threshold,
                    "clip_value": True,
                    "normalize_input": True,
                    "truncate_grads": True,
                    "grad_norm": args.grad_norm,
                    "network": {"name": "actor_critic", "central_value": True, "mlp": mlp},
                },
            },
        }
    }


class Observer(IsaacAlgoObserver):
    """rl_games' Isaac Lab observer (``Episode/<stat>`` from ``infos["episode"]``) that also
    keeps the agent (to export its actor), fixes the action std unless it is learned and feeds
    a progress bar from each step's info."""

    def __init__(self, learn_std: bool = False, on_step=None) -> None:
        super().__init__()
        self.learn_std, self.on_step = learn_std, on_step

    def after_init(self, algo) -> None:
        super().after_init(algo)
        if not self.learn_std:
            algo.model.a2c_network.sigma.requires_grad_(False)

    def process_infos(self, infos, done_indices) -> None:
        super().process_infos(infos, done_indices)
        if self.on_step is not None:
            self.on_step(infos)


def export_bundle(algo, args: Args, env, overrides: dict, num_envs: int) -> dict:
    """Our library-neutral policy bundle from rl_games' actor (MLP + mu head, obs normalizer)."""
    model = getattr(algo.model, "_orig_mod", algo.model)  # unwrap torch.compile
    net, norm = model.a2c_network, model.running_mean_std
    return build_bundle(
        linears=[m for m in net.actor_mlp if isinstance(m, nn.Linear)] + [net.mu],
        activation="elu",
        task=args.task,
        library="rl_games",
        obs_mean=norm.running_mean.float(),
        obs_var=(norm.running_var + OBS_EPS - 1e-8).float(),  # build_bundle adds 1e-8
        obs_clip=OBS_CLIP,
        env=env,
        env_overrides=overrides,
        meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
    )


def main(args: Args) -> None:
    device, seed = training.setup_device_and_seed(args.device, args.seed)
    num_envs = args.num_envs or training.default_num_envs(device)
    iterations = args.iterations or training.default_iterations(device)
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    env = gymnasium.make_vec(args.task, num_envs=num_envs, device=device, seed=seed, **overrides)
    env_name = register(args.task, env=SmpRlGamesVecEnv(env))
    run_dir = training.make_run_dir(args.out, args.task, "rl_games", args.name)
    training.write_args(
        run_dir, args, env, num_envs=num_envs, iterations=iterations, device=str(device)
    )

    bar = training.ProgressBar(env, iterations, args.horizon)
    observer = Observer(args.learn_std, on_step=bar.step)
    runner = Runner(algo_observer=observer)
    cfg = rl_games_cfg(
        args, env_name, num_envs, iterations, device=device, train_dir=run_dir, seed=seed
    )
    console = run_dir / "rl_games" / "console.log"
    console.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        if not args.rl_games_console:
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(console, "a"))))
        runner.load(cfg)
        checkpoint = str(args.resume) if args.resume else None
        runner.run({"train": True, "play": False, "checkpoint": checkpoint})
    bar.close()

    bundle = export_bundle(observer.algo, args, env, overrides, num_envs)
    training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()


if __name__ == "__main__":
    configure_gl()  # before make_vec imports mujoco, so the final clip renders headless
    main(tyro.cli(Args))
