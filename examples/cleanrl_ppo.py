"""CleanRL-style PPO on an smp_gym task, in plain torch: no RL library, one file, top to bottom.

    python examples/cleanrl_ppo.py                            # sized for the machine it finds
    python examples/cleanrl_ppo.py --task SmpGetupG1-v0 --num-envs 4096 --iterations 1500
    torchrun --nproc_per_node=2 examples/cleanrl_ppo.py       # gloo on CPU, NCCL on GPUs
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-endpoint=HOST:29400 examples/cleanrl_ppo.py

The env hands torch tensors straight to the loop (``gymnasium.make_vec``, SAME_STEP autoreset).
Truncated episodes are bootstrapped from the exact final observation in ``info["final_obs"]``.
Under torchrun every rank steps its own envs with its own seed (seed + rank), gradients are
averaged over ranks before each optimizer step (so every rank holds the same weights), and only
rank 0 logs and saves. Writes RUN_DIR/{events (TensorBoard), checkpoint.pt, policy.pt, args.json}.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import gymnasium
import torch
import torch.distributed as dist
import tyro
from torch import nn
from tqdm import tqdm

import smp_gym  # noqa: F401  (registers the ids)
from smp_gym.adapters.common import LogAccumulator
from smp_gym.files import atomic_write
from smp_gym.tools import training
from smp_gym.tools.policy import build_bundle
from smp_gym.tools.render import configure_gl


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    num_envs: int | None = None
    """Envs per rank. None: 4096 on a GPU, 16 on a CPU."""
    iterations: int | None = None
    """PPO iterations (rollouts of NUM_STEPS steps). None: 1500 on a GPU, 150 on a CPU."""
    num_steps: int = 24
    """Steps per env per rollout."""
    learning_rate: float = 1e-3
    kl_threshold: float | None = 0.01
    """KL-adaptive learning rate (rsl_rl's rule: /1.5 above 2x, x1.5 below 0.5x). None: fixed."""
    gamma: float = 0.99
    gae_lambda: float = 0.95
    num_minibatches: int = 4
    update_epochs: int = 5
    clip_coef: float = 0.2
    clip_vloss: bool = True
    ent_coef: float = 0.0
    vf_coef: float = 1.0
    max_grad_norm: float = 1.0
    init_std: float = 0.3
    learn_std: bool = False
    hidden: tuple[int, ...] = (512, 256, 128)
    obs_clip: float = 10.0
    """Normalized observations are clipped to +-OBS_CLIP."""
    prior: str | None = None
    """Shipped prior name or .safetensors path (None: the task's default)."""
    gsi_pool_size: int | None = None
    """GSI pool size (None: the env's default)."""
    episode_length_s: float | None = None
    """Override the task's episode length (None: the task's own)."""
    seed: int = 0
    device: str = "auto"
    out: Path = Path("runs")
    name: str | None = None
    video: bool = True
    video_steps: int = 250
    save_params: Path | None = None
    """Also write this rank's initial and final parameters to SAVE_PARAMS/rank{RANK}.pt (tests)."""


class RunningMeanStd(nn.Module):
    """Observation normalizer; under torchrun the batch moments are summed over ranks."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(size))
        self.register_buffer("var", torch.ones(size))
        self.register_buffer("count", torch.tensor(1e-4))

    @torch.no_grad()
    def update(self, x: torch.Tensor) -> None:
        moments = torch.stack([x.sum(0), (x * x).sum(0), torch.full_like(x[0], x.shape[0])])
        if dist.is_initialized():
            dist.all_reduce(moments)
        n = moments[2, 0]
        mean = moments[0] / n
        var = (moments[1] / n - mean**2).clamp_min(0.0)
        delta, total = mean - self.mean, self.count + n
        self.var.copy_(
            (self.var * self.count + var * n + delta**2 * self.count * n / total) / total
        )
        self.mean.add_(delta * n / total)
        self.count.copy_(total)

    def forward(self, x: torch.Tensor, clip: float) -> torch.Tensor:
        return ((x - self.mean) / (self.var + 1e-8).sqrt()).clamp(-clip, clip)


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers += [nn.Linear(a, b)] + ([nn.ELU()] if i < len(sizes) - 2 else [])
    return nn.Sequential(*layers)


class Agent(nn.Module):
    def __init__(self, obs_dim: int, act_dim: int, args: Args) -> None:
        super().__init__()
        self.args = args
        self.obs_rms = RunningMeanStd(obs_dim)
        self.actor = mlp([obs_dim, *args.hidden, act_dim])
        self.critic = mlp([obs_dim, *args.hidden, 1])
        log_std = torch.full((act_dim,), float(torch.tensor(args.init_std).log()))
        self.log_std = nn.Parameter(log_std, requires_grad=args.learn_std)

    def get_value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.obs_rms(obs, self.args.obs_clip)).squeeze(-1)

    def get_action_and_value(self, obs: torch.Tensor, action: torch.Tensor | None = None):
        x = self.obs_rms(obs, self.args.obs_clip)
        dist_ = torch.distributions.Normal(self.actor(x), self.log_std.exp())
        if action is None:
            action = dist_.sample()
        return (
            action,
            dist_.log_prob(action).sum(-1),
            dist_.entropy().sum(-1),
            self.critic(x).squeeze(-1),
            dist_,
        )


def average_gradients(params: list[nn.Parameter], world: int) -> None:
    """All-reduce (mean) the gradients, so every rank takes the same optimizer step."""
    grads = [p.grad for p in params if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def main(args: Args) -> None:
    configure_gl()  # before mujoco is imported, so the final clip can render headless
    # ---- processes, devices, seeds: one rank per process under torchrun
    rank, _, world = training.rank_info()
    device, seed = training.setup_device_and_seed(args.device, args.seed)  # seed + rank
    training.init_distributed(device)  # this rank's GPU (set_device) and group, before the env
    num_envs = args.num_envs or training.default_num_envs(device)
    iterations = args.iterations or training.default_iterations(device)
    run_dir = training.make_run_dir(args.out, args.task, "cleanrl", args.name)  # rank 0 makes it
    if rank == 0:
        training.write_json(
            run_dir / "args.json",
            {
                **dataclasses.asdict(args),
                "num_envs": num_envs,
                "iterations": iterations,
                "device": str(device),
                "world_size": world,
            },
        )

    # ---- env: torch tensors on DEVICE, SAME_STEP autoreset (final_obs in info)
    overrides = training.env_overrides(prior=args.prior, gsi_pool_size=args.gsi_pool_size)
    if args.episode_length_s is not None:
        overrides["episode_length_s"] = args.episode_length_s
    env = gymnasium.make_vec(args.task, num_envs=num_envs, device=device, seed=seed, **overrides)
    obs_dim, act_dim = env.single_observation_space.shape[0], env.single_action_space.shape[0]

    # ---- agent: the same initial weights on every rank (seeded by ARGS.SEED, then broadcast)
    torch.manual_seed(args.seed)
    agent = Agent(obs_dim, act_dim, args).to(device)
    if world > 1:
        for t in agent.state_dict().values():
            dist.broadcast(t, src=0)
    torch.manual_seed(seed)  # this rank's own stream for action noise and minibatches
    params = [p for p in agent.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=args.learning_rate, eps=1e-5)
    initial = {k: v.detach().clone().cpu() for k, v in agent.state_dict().items()}
    writer = None
    if rank == 0:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(run_dir))

    # ---- rollout storage
    T, N = args.num_steps, num_envs
    obs_buf = torch.zeros(T, N, obs_dim, device=device)
    actions_buf = torch.zeros(T, N, act_dim, device=device)
    logprobs_buf, rewards_buf, dones_buf, values_buf = (
        torch.zeros(T, N, device=device) for _ in range(4)
    )

    next_obs, _ = env.reset(seed=seed)
    next_done = torch.zeros(N, device=device)
    agent.obs_rms.update(next_obs)
    lr, global_step = args.learning_rate, 0
    bar = tqdm(range(1, iterations + 1), disable=rank != 0, desc=f"cleanrl PPO x{world}")
    logs = LogAccumulator()  # summed on the device, read once per iteration
    for _iteration in bar:
        t0 = time.time()

        # ---- collect T steps; bootstrap truncations from the exact final observation
        for step in range(T):
            obs_buf[step], dones_buf[step] = next_obs, next_done
            with torch.no_grad():
                action, logprob, _, value, _ = agent.get_action_and_value(next_obs)
            actions_buf[step], logprobs_buf[step], values_buf[step] = action, logprob, value
            next_obs, reward, terminated, truncated, info = env.step(action)
            if "final_obs" in info:
                timeout = (truncated & ~terminated).float()
                with torch.no_grad():
                    final_value = agent.get_value(info["final_obs"])
                reward = reward + args.gamma * timeout * final_value
            rewards_buf[step], next_done = reward, (terminated | truncated).float()
            if writer is not None:  # task reward, r_smp, SDS error, metrics, episode stats
                logs.add(info)
        global_step += T * N * world

        # ---- GAE (dones cut the bootstrap; timeouts were folded into the reward above)
        with torch.no_grad():
            next_value = agent.get_value(next_obs)
            advantages, lastgaelam = torch.zeros_like(rewards_buf), 0.0
            for t in reversed(range(T)):
                nextnonterminal = 1.0 - (next_done if t == T - 1 else dones_buf[t + 1])
                nextvalues = next_value if t == T - 1 else values_buf[t + 1]
                delta = rewards_buf[t] + args.gamma * nextvalues * nextnonterminal - values_buf[t]
                lastgaelam = delta + args.gamma * args.gae_lambda * nextnonterminal * lastgaelam
                advantages[t] = lastgaelam
            returns = advantages + values_buf

        # ---- PPO update: clipped surrogate + clipped value loss, gradients averaged over ranks
        b_obs, b_actions = obs_buf.reshape(T * N, obs_dim), actions_buf.reshape(T * N, act_dim)
        b_logprobs, b_adv = logprobs_buf.reshape(-1), advantages.reshape(-1)
        b_returns, b_values = returns.reshape(-1), values_buf.reshape(-1)
        minibatch = (T * N) // args.num_minibatches
        for _epoch in range(args.update_epochs):
            perm = torch.randperm(T * N, device=device)
            for start in range(0, minibatch * args.num_minibatches, minibatch):
                mb = perm[start : start + minibatch]
                _, newlogprob, entropy, newvalue, new_dist = agent.get_action_and_value(
                    b_obs[mb], b_actions[mb]
                )
                logratio = newlogprob - b_logprobs[mb]
                ratio = logratio.exp()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - logratio).mean()
                    clipfrac = ((ratio - 1.0).abs() > args.clip_coef).float().mean()
                mb_adv = (b_adv[mb] - b_adv[mb].mean()) / (b_adv[mb].std() + 1e-8)
                pg_loss = torch.max(
                    -mb_adv * ratio, -mb_adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)
                ).mean()
                if args.clip_vloss:
                    v_clipped = b_values[mb] + (newvalue - b_values[mb]).clamp(
                        -args.clip_coef, args.clip_coef
                    )
                    v_loss = (
                        0.5
                        * torch.max(
                            (newvalue - b_returns[mb]) ** 2, (v_clipped - b_returns[mb]) ** 2
                        ).mean()
                    )
                else:
                    v_loss = 0.5 * ((newvalue - b_returns[mb]) ** 2).mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + v_loss * args.vf_coef

                optimizer.zero_grad()
                loss.backward()
                if world > 1:
                    average_gradients(params, world)
                    dist.all_reduce(approx_kl)
                    approx_kl /= world
                nn.utils.clip_grad_norm_(params, args.max_grad_norm)
                if args.kl_threshold is not None:  # the same KL on every rank, so the same lr
                    kl = float(approx_kl)
                    if kl > 2.0 * args.kl_threshold:
                        lr = max(1e-5, lr / 1.5)
                    elif 0.0 < kl < 0.5 * args.kl_threshold:
                        lr = min(1e-2, lr * 1.5)
                    for group in optimizer.param_groups:
                        group["lr"] = lr
                optimizer.step()
        agent.obs_rms.update(b_obs)  # after the update, so the rollout's log-probs stay consistent

        # ---- log (rank 0): reward decomposition, episode stats, losses, throughput
        if writer is not None:  # one device-to-host read for the env logs, one for the losses
            scalars = {k.replace(" / ", "/").replace(" ", "_"): v for k, v in logs.read().items()}
            losses = torch.stack([pg_loss, v_loss, entropy.mean(), approx_kl, clipfrac]).detach()
            names = ("policy_loss", "value_loss", "entropy", "approx_kl", "clipfrac")
            scalars.update(zip((f"losses/{n}" for n in names), losses.tolist(), strict=True))
            for k, v in scalars.items():
                writer.add_scalar(k, v, global_step)
            writer.add_scalar("charts/learning_rate", lr, global_step)
            writer.add_scalar("charts/SPS", T * N * world / (time.time() - t0), global_step)
            if "Episode/episode_return" in scalars:  # mean return of the episodes that ended
                ret = scalars["Episode/episode_return"]
                bar.set_postfix(mean_return=f"{ret:.2f}", lr=f"{lr:.1e}")

    # ---- save (rank 0): a resumable checkpoint and the policy bundle smp-gym eval/play/export load
    if args.save_params is not None:
        final = {k: v.detach().clone().cpu() for k, v in agent.state_dict().items()}
        atomic_write(
            args.save_params / f"rank{rank}.pt",
            lambda tmp: torch.save({"initial": initial, "final": final}, tmp),
        )
    if rank == 0:
        writer.close()
        state = {
            "agent": agent.state_dict(),
            "optimizer": optimizer.state_dict(),
            "env": env.unwrapped.state_dict(),
            "args": dataclasses.asdict(args),
            "global_step": global_step,
        }
        atomic_write(run_dir / "checkpoint.pt", lambda tmp: torch.save(state, tmp))
        bundle = build_bundle(
            linears=[m for m in agent.actor if isinstance(m, nn.Linear)],
            activation="elu",
            task=args.task,
            library="cleanrl",
            obs_mean=agent.obs_rms.mean,
            obs_var=agent.obs_rms.var,
            obs_clip=args.obs_clip,
            env=env,
            env_overrides=overrides,
            meta={"args": dataclasses.asdict(args), "num_envs": num_envs},
        )
        training.finish(run_dir, bundle, args.video, args.video_steps, device)
    env.close()
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(tyro.cli(Args))
