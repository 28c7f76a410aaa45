"""skrl PPO on an smp_gym task (default: SmpSteeringG1-v0 with its shipped motion prior).

    python examples/skrl_ppo.py                          # sized for the machine it finds
    python examples/skrl_ppo.py --task SmpGetupG1-v0 --num-envs 4096 --iterations 3000
    torchrun --nproc_per_node=4 examples/skrl_ppo.py     # one env per GPU (NCCL; gloo on CPUs)

Settings follow the reference (docs/reference.md#ppo-settings): MLP 512-256-128 ELU actor and
critic, the critic on the env's privileged state (``state_space``), fixed action std 0.3, 24 rollout
steps, 5 epochs x 4 minibatches, Adam 1e-3 with a KL-adaptive schedule (0.01), γ 0.99, λ 0.95.
The training loop is skrl's public agent API written out (act, record_transition,
post_interaction), as skrl's SequentialTrainer runs it, so checkpoints can be written atomically
and the progress bar can show the return, r_smp and the task's error.
Writes RUN_DIR/{skrl/ (TensorBoard, checkpoints/agent_<step>.pt), policy.pt, play.mp4, args.json}.

Under torchrun each rank selects its own GPU and joins the process group *before* it builds its
env, and only then imports skrl (whose import would start an NCCL-only group of its own); skrl's
PPO broadcasts the initial weights and all-reduces the gradients, and the observation, state and
value normalizers all-reduce their statistics (``SyncedStandardScaler``), so every rank holds
the same policy. Rank 0 alone writes RUN_DIR. skrl is therefore imported inside ``main``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium
import torch
import tyro
from torch import nn

import smp_gym  # noqa: F401  (registers the task ids)
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
    """PPO iterations (rollouts of ``rollouts`` steps). None: 1500 on a GPU, 150 on a CPU."""
    rollouts: int = 24
    learning_epochs: int = 5
    mini_batches: int = 4
    learning_rate: float = 1e-3
    kl_threshold: float = 0.01
    discount: float = 0.99
    gae_lambda: float = 0.95
    ratio_clip: float = 0.2
    value_clip: float = 0.2
    grad_norm_clip: float = 1.0
    value_loss_scale: float = 1.0
    entropy_scale: float = 0.0
    init_std: float = 0.3
    learn_std: bool = False
    hidden: tuple[int, ...] = (512, 256, 128)
    prior: str | None = None
    """Shipped prior name or .safetensors path (None: the task's default)."""
    gsi_pool_size: int | None = None
    """GSI pool size (None: 4096 on a GPU, 1024 on a CPU)."""
    seed: int = 0
    device: str = "auto"
    backend: str = "auto"
    """Physics: "warp" (MuJoCo Warp, CPU/GPU), "native" (MuJoCo C threads, CPU only) or "auto"
    (native on a CPU, warp on a GPU)."""
    out: Path = Path("runs")
    name: str | None = None
    resume: Path | None = None
    """An skrl agent checkpoint (RUN_DIR/skrl/checkpoints/agent_*.pt) to start from."""
    checkpoint_every: int = 50
    """Iterations between skrl checkpoints."""
    video: bool = True
    video_steps: int = 250
    save_params: Path | None = None
    """Also write this rank's final weights and normalizers to SAVE_PARAMS/rank{RANK}.pt (tests)."""


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers += [nn.Linear(a, b)] + ([nn.ELU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


def build_models(env, args: Args, device: torch.device) -> dict:
    """skrl's policy (Gaussian actor on the actor observations, state-independent log std) and
    value (critic on the env's privileged ``state()``)."""
    from skrl.models.torch import DeterministicMixin, GaussianMixin, Model

    class Policy(GaussianMixin, Model):
        """Gaussian actor on the actor observations, state-independent log std."""

        def __init__(self, env, args: Args, device: torch.device) -> None:
            Model.__init__(
                self,
                observation_space=env.observation_space,
                action_space=env.action_space,
                device=device,
            )
            GaussianMixin.__init__(self, clip_actions=False, clip_log_std=True)
            self.net = mlp([self.num_observations, *args.hidden, self.num_actions])
            log_std = torch.full((self.num_actions,), float(torch.tensor(args.init_std).log()))
            self.log_std = nn.Parameter(log_std, requires_grad=args.learn_std)

        def compute(self, inputs, role=""):
            return self.net(inputs["observations"]), {"log_std": self.log_std}

    class Value(DeterministicMixin, Model):
        """Critic on the privileged state (the env's ``state()``)."""

        def __init__(self, env, args: Args, device: torch.device) -> None:
            Model.__init__(
                self, state_space=env.state_space, action_space=env.action_space, device=device
            )
            DeterministicMixin.__init__(self)
            self.net = mlp([self.num_states, *args.hidden, 1])

        def compute(self, inputs, role=""):
            return self.net(inputs["states"]), {}

    return {"policy": Policy(env, args, device), "value": Value(env, args, device)}


def main(args: Args) -> None:
    device, seed = training.setup_device_and_seed(args.device, args.seed)
    training.init_distributed(device)  # this rank's GPU and process group, before the env
    training.import_skrl(device)
    from skrl.agents.torch import ExperimentCfg
    from skrl.agents.torch.ppo import PPO, PPO_CFG
    from skrl.memories.torch import RandomMemory
    from skrl.resources.schedulers.torch import KLAdaptiveLR

    from smp_gym.adapters.skrl import LOG_KEY, SmpSkrlWrapper, SyncedStandardScaler

    rank = training.rank_info()[0]
    num_envs = args.num_envs or training.default_num_envs(device)
    backend = (
        args.backend if args.backend != "auto" else ("warp" if device.type == "cuda" else "native")
    )
    iterations = args.iterations or training.default_iterations(device)
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    env = gymnasium.make_vec(
        args.task, num_envs=num_envs, device=device, seed=seed, backend=backend, **overrides
    )
    wrapped = SmpSkrlWrapper(env, log_interval=args.rollouts)
    run_dir = training.make_run_dir(args.out, args.task, "skrl", args.name)  # rank 0 creates it
    if rank == 0:
        training.write_args(
            run_dir, args, env, num_envs=num_envs, iterations=iterations, device=str(device)
        )

    scaler = {
        "observation_preprocessor": SyncedStandardScaler,
        "state_preprocessor": SyncedStandardScaler,
        "value_preprocessor": SyncedStandardScaler,
        "observation_preprocessor_kwargs": {"size": wrapped.observation_space, "device": device},
        "state_preprocessor_kwargs": {"size": wrapped.state_space, "device": device},
        "value_preprocessor_kwargs": {"size": 1, "device": device},
    }
    cfg = PPO_CFG(
        rollouts=args.rollouts,
        learning_epochs=args.learning_epochs,
        mini_batches=args.mini_batches,
        discount_factor=args.discount,
        gae_lambda=args.gae_lambda,
        learning_rate=args.learning_rate,
        learning_rate_scheduler=KLAdaptiveLR,
        learning_rate_scheduler_kwargs={"kl_threshold": args.kl_threshold},
        grad_norm_clip=args.grad_norm_clip,
        ratio_clip=args.ratio_clip,
        value_clip=args.value_clip,
        entropy_loss_scale=args.entropy_scale,
        value_loss_scale=args.value_loss_scale,
        time_limit_bootstrap=True,
        **scaler,
        experiment=ExperimentCfg(
            directory=str(run_dir),
            experiment_name="skrl",
            write_interval=args.rollouts,
            checkpoint_interval=0,
        ),  # checkpoints: written below, atomically
    )
    agent = PPO(
        models=build_models(wrapped, args, device),
        memory=RandomMemory(memory_size=args.rollouts, num_envs=num_envs, device=device),
        observation_space=wrapped.observation_space,
        state_space=wrapped.state_space,
        action_space=wrapped.action_space,
        device=device,
        cfg=cfg,
    )
    if args.resume is not None:
        agent.load(str(args.resume))
    agent.init()
    agent.enable_training_mode(True)

    timesteps = iterations * args.rollouts
    bar = training.ProgressBar(env, iterations, args.rollouts, disable=rank != 0)
    obs, _ = wrapped.reset()
    states = wrapped.state()
    with training.GracefulStop() as stop:  # Ctrl-C: save, then end
        for t in range(timesteps):
            agent.pre_interaction(timestep=t, timesteps=timesteps)
            with torch.no_grad():
                actions, _ = agent.act(obs, states, timestep=t, timesteps=timesteps)
                next_obs, rewards, terminated, truncated, infos = wrapped.step(actions)
                next_states = wrapped.state()
                agent.record_transition(
                    observations=obs,
                    states=states,
                    actions=actions,
                    rewards=rewards,
                    next_observations=next_obs,
                    next_states=next_states,
                    terminated=terminated,
                    truncated=truncated,
                    infos=infos,
                    timestep=t,
                    timesteps=timesteps,
                )
                for key, value in infos.get(LOG_KEY, {}).items():  # once per rollout, host values
                    agent.track_data(key, value.item())
            # PPO updates after each rollout
            agent.post_interaction(timestep=t, timesteps=timesteps)
            obs, states = next_obs, next_states
            bar.step(infos)
            stopping = stop.requested and (t + 1) % args.rollouts == 0  # an iteration has ended
            if rank == 0 and ((t + 1) % (args.checkpoint_every * args.rollouts) == 0 or stopping):
                path = run_dir / "skrl" / "checkpoints" / f"agent_{t + 1}.pt"
                atomic_write(path, lambda tmp: agent.save(str(tmp)))
            if stopping:
                done = (t + 1) // args.rollouts
                print(f"\nstopped by Ctrl-C after iteration {done} of {iterations}")
                break
    bar.close()
    if args.save_params is not None:
        state = {k: m.state_dict() for k, m in agent.checkpoint_modules.items() if k != "optimizer"}
        atomic_write(
            args.save_params / f"rank{rank}.pt",
            lambda tmp: torch.save({"final": state, "run_dir": str(run_dir)}, tmp),
        )

    if rank == 0:
        obs_scaler = agent.checkpoint_modules[
            "observation_preprocessor"
        ]  # the fitted RunningStandardScaler
        bundle = build_bundle(
            linears=[m for m in agent.policy.net if isinstance(m, nn.Linear)],
            activation="elu",
            task=args.task,
            library="skrl",
            obs_mean=obs_scaler.running_mean.float(),
            obs_var=obs_scaler.running_variance.float(),
            obs_clip=obs_scaler.clip_threshold,
            env=env,
            env_overrides=overrides,
            meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
        )
        training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()


if __name__ == "__main__":
    configure_gl()  # before make_vec imports mujoco, so the final clip renders headless
    main(tyro.cli(Args))
