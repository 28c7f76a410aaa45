"""TorchRL row: GymWrapper(env) passes check_env_specs, then two PPO iterations with TorchRL's own
collector and loss (Collector, ClipPPOLoss + GAE). TorchRL accepts SAME_STEP (the default: what
``GymWrapper(gymnasium.make_vec(id))`` gets) or DISABLED (it then resets ended envs itself
through ``reset(options={"reset_mask": m})``); it refuses NEXT_STEP. Gymnasium's SyncVectorEnv
is the control row. In SAME_STEP TorchRL's terminal-observation reader turns every info key into
a spec entry, so the info must be flat (docs/env_api.md#info)."""

import gymnasium
import pytest
import torch
from gymnasium.vector import AutoresetMode
from torch import nn

torchrl = pytest.importorskip("torchrl")
from tensordict.nn import NormalParamExtractor, TensorDictModule  # noqa: E402
from torchrl.collectors import Collector  # noqa: E402
from torchrl.envs import GymWrapper  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402
from torchrl.modules import ProbabilisticActor, TanhNormal, ValueOperator  # noqa: E402
from torchrl.objectives import ClipPPOLoss  # noqa: E402
from torchrl.objectives.value import GAE  # noqa: E402

pytestmark = pytest.mark.sim
NUM_ENVS, STEPS = 2, 8


def smp_env():
    from tests.sim.conftest import make

    return make(
        "SmpSteeringG1-v0",
        num_envs=NUM_ENVS,
        episode_length_s=0.1,
        autoreset_mode=AutoresetMode.DISABLED,
    )


@pytest.mark.parametrize("episode_steps", [1, 5], ids=["ends-every-step", "ends-after-5"])
def test_default_mode_gym_wrapper_specs_and_rollout(episode_steps):
    """``GymWrapper(gymnasium.make_vec(id, num_envs=2))`` as a TorchRL user types it: the default
    SAME_STEP mode. TorchRL infers its info spec from the first step: with 1-step episodes that
    step already carries the per-episode statistics (a nested dict there broke
    check_env_specs), with 5-step episodes it does not (they are then left out)."""
    from tests.sim.conftest import SMALL_GSI

    env = gymnasium.make_vec(
        "SmpSteeringG1-v0",
        num_envs=NUM_ENVS,
        device="cpu",
        gsi=SMALL_GSI,
        seed=0,
        max_episode_steps=episode_steps,
    )
    assert env.unwrapped.autoreset_mode is AutoresetMode.SAME_STEP
    wrapped = GymWrapper(env, device="cpu")
    check_env_specs(wrapped)
    data = wrapped.rollout(10, break_when_any_done=False)
    assert data.batch_size == torch.Size([NUM_ENVS, 10])
    done = data["next", "done"].squeeze(-1)
    assert done.sum(dim=1).tolist() == [10 // episode_steps] * NUM_ENVS
    nxt = data["next"]
    for key in ("task_reward", "smp_reward", "sds_error", "metric_vel_error"):
        assert nxt[key].shape == (NUM_ENVS, 10) and torch.isfinite(nxt[key]).all()
    # In SAME_STEP TorchRL overwrites the ended rows of every info key with final_info's, which
    # holds the step's own keys only (as SyncVectorEnv's): the smp_episode/<stat> columns it
    # registered (first step ended episodes) read 0 there (docs/env_api.md#info).
    assert ("smp_episode/length" in nxt.keys()) == (episode_steps == 1)
    # the next step's observation is the reset one, not the terminal one TorchRL keeps in "next"
    for i, t in done[:, :-1].nonzero().tolist():
        assert not torch.equal(nxt["observation"][i, t], data["observation"][i, t + 1])
    wrapped.close()


def pendulum_env():
    return gymnasium.make_vec(
        "Pendulum-v1",
        num_envs=NUM_ENVS,
        vectorization_mode="sync",
        max_episode_steps=5,
        vector_kwargs={"autoreset_mode": AutoresetMode.DISABLED},
    )


def ppo(env: GymWrapper, iterations: int = 2) -> tuple[dict, dict, list]:
    obs_dim, act_dim = env.observation_spec["observation"].shape[-1], env.action_spec.shape[-1]
    bounds = env.action_spec_unbatched.space
    actor_net = nn.Sequential(
        nn.Linear(obs_dim, 32), nn.Tanh(), nn.Linear(32, 2 * act_dim), NormalParamExtractor()
    )
    actor = ProbabilisticActor(
        TensorDictModule(actor_net, in_keys=["observation"], out_keys=["loc", "scale"]),
        spec=env.action_spec_unbatched,
        in_keys=["loc", "scale"],
        distribution_class=TanhNormal,
        distribution_kwargs={"low": bounds.low, "high": bounds.high},
        return_log_prob=True,
    )
    critic = ValueOperator(
        nn.Sequential(nn.Linear(obs_dim, 32), nn.Tanh(), nn.Linear(32, 1)), in_keys=["observation"]
    )
    gae = GAE(gamma=0.99, lmbda=0.95, value_network=critic, average_gae=True)
    loss_fn = ClipPPOLoss(
        actor_network=actor, critic_network=critic, clip_epsilon=0.2, entropy_coeff=0.0
    )
    optim = torch.optim.Adam(loss_fn.parameters(), lr=3e-3)
    before = {k: v.detach().clone() for k, v in loss_fn.state_dict().items()}
    collector = Collector(
        env,
        actor,
        frames_per_batch=NUM_ENVS * STEPS,
        total_frames=iterations * NUM_ENVS * STEPS,
        auto_register_policy_transforms=False,
    )
    batches = []
    for data in collector:
        assert data.batch_size == torch.Size([NUM_ENVS, STEPS])
        gae(data)
        losses = loss_fn(data.reshape(-1))
        total = losses["loss_objective"] + losses["loss_critic"] + losses["loss_entropy"]
        assert torch.isfinite(total)
        total.backward()
        optim.step()
        optim.zero_grad()
        collector.update_policy_weights_()
        batches.append(data)
    collector.shutdown()
    return before, {k: v.detach().clone() for k, v in loss_fn.state_dict().items()}, batches


@pytest.mark.parametrize(
    "make_env", [pendulum_env, smp_env], ids=["gymnasium-sync-Pendulum", "SmpSteeringG1"]
)
def test_gym_wrapper_specs_and_ppo(make_env):
    env = make_env()
    assert env.unwrapped.autoreset_mode is AutoresetMode.DISABLED  # TorchRL reads the attribute
    wrapped = GymWrapper(env, device="cpu")
    assert wrapped.batch_size == torch.Size([NUM_ENVS])
    check_env_specs(wrapped)
    before, after, batches = ppo(wrapped)
    moved = [k for k in after if not torch.equal(before[k], after[k])]
    assert any("actor" in k for k in moved) and any("critic" in k for k in moved)
    data = torch.cat(batches, dim=1)  # [env, time]: 16 steps of 5-step episodes
    done = data["next", "done"].squeeze(-1)
    assert done.sum(dim=1).tolist() == [
        3,
        3,
    ]  # ends after steps 5, 10, 15 (TorchRL resets in between)
    for i, t in done[:, :-1].nonzero().tolist():
        # the true final obs is kept in "next", and the env was reset (reset_mask) before step t + 1
        assert not torch.equal(data["next", "observation"][i, t], data["observation"][i, t + 1])
    wrapped.close()


def test_next_step_is_refused_with_the_mode_to_choose():
    env = gymnasium.make_vec(
        "Pendulum-v1",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AutoresetMode.NEXT_STEP},
    )
    with pytest.raises(RuntimeError, match="SAME_STEP or DISABLED"):
        GymWrapper(env, device="cpu")
