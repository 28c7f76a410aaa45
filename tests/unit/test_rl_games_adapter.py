"""The rl_games adapter's mapping on a scripted two-env vector env (no simulator): ``dones``,
``time_outs`` when an env terminates and truncates at once, the episode means rl_games'
``IsaacAlgoObserver`` logs, the dropped ``final_*`` keys, and the refusal of infinite bounds.
Expected values are written out by hand; rl_games' own runner is in tests/interop."""

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

pytest.importorskip("rl_games")
from smp_gym.adapters.rl_games import SmpRlGamesVecEnv  # noqa: E402
from smp_gym.errors import ConfigError  # noqa: E402


class Scripted(gymnasium.vector.VectorEnv):
    """Env 0 terminates and is truncated on the same step, env 1 is only truncated, env 2 runs on."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, high: float = 1.0) -> None:
        self.num_envs, self.device = 3, torch.device("cpu")
        self.autoreset_mode = AutoresetMode.SAME_STEP
        self.single_observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (3,), np.float32)
        self.single_state_space = gymnasium.spaces.Box(-np.inf, np.inf, (4,), np.float32)
        self.single_action_space = gymnasium.spaces.Box(-1.0, high, (2,), np.float32)
        self.actions = None

    def reset(self, *, seed=None, options=None):
        return torch.zeros(3, 3), {}

    def state(self) -> torch.Tensor:
        return torch.arange(12.0).reshape(3, 4)

    def step(self, actions):
        self.actions = actions
        ended = torch.tensor([True, True, False])
        info = {
            "task_reward": torch.tensor([0.5, 0.25, 0.0]),
            "metric_vel_error": torch.tensor([1.0, 2.0, 3.0]),
            "smp_episode/return": torch.tensor([1.0, 3.0, 100.0]),
            "_smp_episode/return": ended,
            "smp_episode/length": torch.tensor([2, 4, 50]),
            "_smp_episode/length": ended,
            "final_obs": torch.ones(3, 3),
            "_final_obs": ended,
            "final_info": {},
            "_final_info": ended,
        }
        flags = torch.tensor([True, False, False]), torch.tensor([True, True, False])
        return torch.zeros(3, 3), torch.tensor([0.1, 0.2, 0.3]), *flags, info


def test_step_maps_flags_time_outs_and_episode_means():
    env = Scripted()
    adapter = SmpRlGamesVecEnv(env)
    obs, reward, dones, infos = adapter.step(np.zeros((3, 2), np.float32))
    assert isinstance(env.actions, torch.Tensor)  # numpy actions become tensors on the device
    assert torch.equal(obs["states"], torch.arange(12.0).reshape(3, 4))
    assert dones.tolist() == [True, True, False]
    assert infos["time_outs"].tolist() == [False, True, False]  # a termination is no time-out
    # means over the two ended envs: return (1 + 3)/2, length (2 + 4)/2
    assert float(infos["episode"]["return"]) == 2.0 and float(infos["episode"]["length"]) == 3.0
    assert infos["metric_vel_error"].tolist() == [1.0, 2.0, 3.0]  # the step info passes through
    assert not any(k.lstrip("_").startswith("final_") for k in infos)
    assert adapter.get_env_info()["state_space"].shape == (4,)


def test_infinite_action_bounds_are_refused():
    with pytest.raises(ConfigError, match="finite"):
        SmpRlGamesVecEnv(Scripted(high=np.inf))
