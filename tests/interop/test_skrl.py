"""skrl rows: ``wrap_env(env)`` auto-detection (skrl's generic Gymnasium wrapper, numpy round trip)
and our torch-native ``SmpSkrlWrapper`` (critic on ``state()``), each a few PPO training steps."""

import pytest
import torch
from torch import nn

pytest.importorskip("skrl")
from skrl.agents.torch.ppo import PPO, PPO_CFG  # noqa: E402
from skrl.envs.wrappers.torch import wrap_env  # noqa: E402
from skrl.memories.torch import RandomMemory  # noqa: E402
from skrl.models.torch import DeterministicMixin, GaussianMixin, Model  # noqa: E402
from skrl.trainers.torch import SequentialTrainer, SequentialTrainerCfg  # noqa: E402

from tests.sim.conftest import make  # noqa: E402

pytestmark = pytest.mark.sim
N, ROLLOUTS = 2, 4


class Policy(GaussianMixin, Model):
    def __init__(self, obs_space, act_space) -> None:
        Model.__init__(self, observation_space=obs_space, action_space=act_space, device="cpu")
        GaussianMixin.__init__(self, clip_actions=False)
        self.net = nn.Sequential(
            nn.Linear(self.num_observations, 32), nn.ELU(), nn.Linear(32, self.num_actions)
        )
        self.log_std = nn.Parameter(torch.full((self.num_actions,), -1.0))

    def compute(self, inputs, role=""):
        return self.net(inputs["observations"]), {"log_std": self.log_std}


class Value(DeterministicMixin, Model):
    def __init__(self, in_space, act_space, key: str) -> None:
        Model.__init__(
            self,
            observation_space=in_space,
            state_space=in_space,
            action_space=act_space,
            device="cpu",
        )
        DeterministicMixin.__init__(self)
        self.key = key
        self.net = nn.Sequential(nn.Linear(in_space.shape[0], 32), nn.ELU(), nn.Linear(32, 1))

    def compute(self, inputs, role=""):
        return self.net(inputs[self.key]), {}


def train(wrapped, state_space=None, iterations: int = 2) -> tuple[dict, dict]:
    obs_space, act_space = wrapped.observation_space, wrapped.action_space
    value = Value(
        state_space or obs_space, act_space, "states" if state_space is not None else "observations"
    )
    cfg = PPO_CFG(rollouts=ROLLOUTS, learning_epochs=2, mini_batches=2, learning_rate=1e-3)
    cfg.experiment.write_interval = 0
    cfg.experiment.checkpoint_interval = 0
    agent = PPO(
        models={"policy": Policy(obs_space, act_space), "value": value},
        memory=RandomMemory(memory_size=ROLLOUTS, num_envs=N, device="cpu"),
        observation_space=obs_space,
        state_space=state_space,
        action_space=act_space,
        device="cpu",
        cfg=cfg,
    )
    before = {k: v.detach().clone() for k, v in agent.policy.state_dict().items()}
    trainer = SequentialTrainer(
        cfg=SequentialTrainerCfg(
            timesteps=iterations * ROLLOUTS, headless=True, close_environment_at_exit=False
        ),
        env=wrapped,
        agents=agent,
    )
    trainer.train()
    return before, agent.policy.state_dict()


def _moved(before, after) -> bool:
    return not torch.equal(before["net.0.weight"], after["net.0.weight"])


def test_wrap_env_auto_detects_gymnasium():
    env = make("SmpSteeringG1-v0", num_envs=N, episode_length_s=0.1)
    wrapped = wrap_env(env)  # "auto": the env class subclasses gymnasium.vector.VectorEnv directly
    assert type(wrapped).__name__ == "GymnasiumWrapper" and wrapped.num_envs == N
    assert _moved(*train(wrapped))
    env.close()


def test_smp_skrl_wrapper_trains_with_the_critic_on_state():
    from smp_gym.adapters.skrl import SmpSkrlWrapper

    env = make("SmpSteeringG1-v0", num_envs=N, episode_length_s=0.1)
    wrapped = SmpSkrlWrapper(env)
    assert (
        wrapped.state_space.shape[0] > wrapped.observation_space.shape[0]
    )  # privileged critic inputs
    assert _moved(*train(wrapped, state_space=wrapped.state_space))
    env.close()
