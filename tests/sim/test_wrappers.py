"""The numpy path through Gymnasium's own wrappers, and the trainer adapters."""

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.wrappers.vector import ArrayConversion, DictInfoToList, RecordEpisodeStatistics

from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def test_array_conversion_and_record_episode_statistics():
    env = make("SmpSteeringG1-v0", num_envs=2, episode_length_s=0.2)
    env = RecordEpisodeStatistics(ArrayConversion(env, env_xp=torch, target_xp=np))
    obs, info = env.reset(seed=0)
    assert isinstance(obs, np.ndarray) and obs.dtype == np.float32
    episodes = []
    for _ in range(25):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample() * 0.1)
        assert isinstance(reward, np.ndarray) and isinstance(terminated, np.ndarray)
        assert isinstance(info["smp_reward"], np.ndarray)
        if "episode" in info:
            episodes += list(info["episode"]["l"][info["_episode"]])
            assert isinstance(info["final_obs"], np.ndarray)
    assert episodes and all(1 <= n <= 10 for n in episodes)
    env.close()


def test_dict_info_to_list():
    env = DictInfoToList(
        ArrayConversion(
            make("SmpSteeringG1-v0", num_envs=2, episode_length_s=0.1), env_xp=torch, target_xp=np
        )
    )
    env.reset(seed=0)
    for _ in range(6):
        _, _, _, _, infos = env.step(np.zeros((2, 29), dtype=np.float32))
        assert isinstance(infos, list) and len(infos) == 2 and "smp_reward" in infos[0]
    env.close()


def test_gymnasium_make_vec_by_module_path_and_repr():
    env = gymnasium.make_vec(
        "smp_gym:SmpLocationG1-v0",
        num_envs=1,
        device="cpu",
        gsi={"pool_size": 16, "batch_size": 16},
    )
    assert env.unwrapped.spec.id == "SmpLocationG1-v0"
    assert "SmpLocationG1-v0" in repr(env.unwrapped)
    env.close()


def test_sb3_adapter_terminal_observation_of_truncated_episodes():
    pytest.importorskip("stable_baselines3")
    from smp_gym.adapters.sb3 import SmpSb3VecEnv

    vec = SmpSb3VecEnv(
        make(
            "SmpSteeringG1-v0",
            num_envs=2,
            episode_length_s=0.1,
            gsi={"init": "default"},
            sim={"observation_noise": False, "push_robot": False},
        )
    )
    obs = vec.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (2, vec.observation_space.shape[0])
    u = vec.smp_env
    captured = {}
    step = u.sim.step

    def spy(actions):
        out = step(actions)
        captured["terminal"] = out[0]["actor"].clone().numpy()
        return out

    u.sim.step = spy
    for _ in range(5):
        vec.step_async(np.zeros((2, 29), dtype=np.float32))
        obs, rewards, dones, infos = vec.step_wait()
        assert rewards.dtype == np.float32 and dones.dtype == bool and len(infos) == 2
    assert dones.all()  # 0.1 s = 5 steps: both envs time out on the fifth step
    for i in (0, 1):
        assert infos[i]["TimeLimit.truncated"] is True
        np.testing.assert_array_equal(infos[i]["terminal_observation"], captured["terminal"][i])
        assert not np.array_equal(obs[i], infos[i]["terminal_observation"])
        assert infos[i]["episode"]["l"] == 5
    assert vec.env_is_wrapped(object) == [False, False]
    assert vec.get_attr("num_envs") == [2, 2]
    vec.close()


def test_sb3_vec_env_checks():
    """SB3 has no VecEnv checker; run its PPO rollout machinery for one short update instead."""
    sb3 = pytest.importorskip("stable_baselines3")
    from smp_gym.adapters.sb3 import SmpSb3VecEnv

    vec = SmpSb3VecEnv(make("SmpSteeringG1-v0", num_envs=2, episode_length_s=0.2))
    model = sb3.PPO("MlpPolicy", vec, n_steps=8, batch_size=8, n_epochs=1, device="cpu")
    model.learn(total_timesteps=16)
    assert model.num_timesteps == 16
    vec.close()


def test_skrl_wrapper_is_torch_native():
    pytest.importorskip("skrl")
    from smp_gym.adapters.skrl import SmpSkrlWrapper

    env = make("SmpSteeringG1-v0", num_envs=2, episode_length_s=0.1)
    w = SmpSkrlWrapper(env, log_interval=5)  # info["log"]: once per 5 steps, means over them
    obs, _ = w.reset()
    assert w.observation_space.shape == obs.shape[1:] and w.state().shape[0] == 2
    assert w.reset()[0] is obs  # vector envs reset once
    for _ in range(5):
        obs, rew, term, trunc, info = w.step(torch.zeros(2, 29))
    assert rew.shape == term.shape == (2, 1) and isinstance(obs, torch.Tensor)
    assert info["log"]["SMP / r_smp"].numel() == 1 and "Episode / episode_return" in info["log"]
    w.close()


def test_rsl_rl_adapter():
    pytest.importorskip("rsl_rl")
    from smp_gym.adapters.rsl_rl import SmpRslRlVecEnv

    env = SmpRslRlVecEnv(
        make(
            "SmpSteeringG1-v0",
            num_envs=2,
            episode_length_s=0.1,
            gsi={"init": "default"},
            sim={"push_robot": False},
        )
    )
    obs = env.get_observations()
    assert set(obs.keys()) == {"actor", "critic"}
    for _ in range(5):
        obs, rew, dones, extras = env.step(torch.zeros(2, 29))
    assert dones.dtype == torch.long and dones.tolist() == [1, 1] and extras["time_outs"].all()
    assert "/SMP/r_smp" in extras["log"]
    env.close()
