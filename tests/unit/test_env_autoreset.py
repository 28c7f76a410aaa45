"""SmpVectorEnv's autoreset logic on a fake simulator, without mjlab, side by side with
Gymnasium's own ``SyncVectorEnv`` over copies of an equivalent single env (the way Gymnasium
tests its vector envs with a generic counting env). Every step of a random action sequence must
give the same observations, rewards, flags and Gymnasium info keys in each autoreset mode; our
per-episode statistics must report every episode that ended, in every mode."""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from smp_gym.config import GsiCfg, RenderCfg, ResolvedCfg, SimCfg, SmpRewardCfg
from smp_gym.env import SmpVectorEnv
from smp_gym.episodes import EpisodeStats, episode_info, episode_mask
from smp_gym.task import Metric, TaskSpec

N, MAX_T, TERMINATE_AT = 3, 4, 2.5
GYM_KEYS = {"final_obs", "_final_obs", "final_info", "_final_info"}


class Counter(gymnasium.Env):
    """One env: obs [index, t, pos]; pos += action; reward 0.1·t; terminated when pos > 2.5,
    truncated at t = 4; reset to t = pos = 0. Info: none."""

    observation_space = gymnasium.spaces.Box(-np.inf, np.inf, (3,), np.float32)
    action_space = gymnasium.spaces.Box(-2.0, 2.0, (1,), np.float32)

    def __init__(self, index: int) -> None:
        self.index, self.t, self.pos = index, 0, 0.0

    def _obs(self):
        return np.array([self.index, self.t, self.pos], dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.pos = 0, 0.0
        return self._obs(), {}

    def step(self, action):
        self.t += 1
        self.pos = float(np.float32(self.pos + float(action[0])))
        terminated, truncated = self.pos > TERMINATE_AT, self.t >= MAX_T
        return self._obs(), float(np.float32(0.1 * self.t)), terminated, truncated, {}


class FakeSim:
    """N Counters in tensors, stepped like mjlab with ``auto_reset=False`` (never resets)."""

    single_observation_space = gymnasium.spaces.Dict(
        {
            "actor": gymnasium.spaces.Box(-np.inf, np.inf, (3,)),
            "critic": gymnasium.spaces.Box(-np.inf, np.inf, (4,)),
        }
    )
    max_episode_length = MAX_T

    def __init__(self) -> None:
        self.episode_length_buf = torch.zeros(N, dtype=torch.long)
        self.pos = torch.zeros(N)
        self.deferred = []

    def obs(self) -> dict:
        actor = torch.stack((torch.arange(N).float(), self.episode_length_buf.float(), self.pos), 1)
        return {"actor": actor, "critic": torch.cat((actor, torch.ones(N, 1)), 1)}

    def step(self, actions):
        self.episode_length_buf += 1
        self.pos += actions[:, 0]
        terminated, truncated = self.pos > TERMINATE_AT, self.episode_length_buf >= MAX_T
        task_r = 0.1 * self.episode_length_buf.float()
        return self.obs(), task_r, terminated, truncated, {}

    def seed(self, seed):
        pass

    def close(self):
        pass


class FakeOps:
    def reset(self, sim, env_ids, start):
        sim.episode_length_buf[env_ids], sim.pos[env_ids] = 0, start
        return sim.obs()

    def defer_reset(self, sim, mask):
        sim.deferred.append(mask.clone())

    def nonfinite(self, sim):
        return torch.zeros(N, dtype=torch.bool)

    def seed(self, sim, seed):
        pass


class FakeReward:
    """r_smp = 1, raw SDS error = pos (so the restarted rows are visible); records ``valid``."""

    normalizer = SimpleNamespace(state_dict=lambda: {})

    def __init__(self, sim) -> None:
        self.sim, self.valid = sim, []

    def __call__(self, features, generator, valid):
        self.valid.append(valid)
        return self.sim.pos[:, None].clone() + 1.0, torch.ones(N)

    def combine(self, task, r_smp):
        return task * r_smp

    def terminated(self, raw, episode_length):
        return torch.zeros(N, dtype=torch.bool)


def fake_env(mode: AutoresetMode) -> SmpVectorEnv:
    sim = FakeSim()
    cfg = ResolvedCfg(
        env_id="SmpSteeringG1-v0",
        num_envs=N,
        device="cpu",
        render_mode=None,
        autoreset_mode=mode.value,
        task=None,
        prior="fake",
        reward=SmpRewardCfg(),
        gsi=GsiCfg(pool_size=1, refresh_count=1),
        sim=SimCfg(),
        render=RenderCfg(),
        max_episode_steps=MAX_T,
        seed=0,
        generator_seed=0,
        check_action_shape=True,
        check_action_finite=True,
        clip_actions=True,
        reset_nonfinite=True,
        compile_prior=False,
        verbose=False,
    )
    metric = Metric(name="pos", fn=lambda s: s.pos.clone(), reduce="last")
    task = TaskSpec(cfg_type=object, make_sim_cfg=lambda *a: None, metrics=(metric,))
    frames = SimpleNamespace(pack=lambda: torch.zeros(N, 1))
    return SmpVectorEnv(
        cfg,
        task=task,
        sim=sim,
        ops=FakeOps(),
        prior=SimpleNamespace(layout=None, meta={}),
        reward=FakeReward(sim),
        reader=lambda: frames,
        start_states=SimpleNamespace(
            pool=None,
            sample=lambda ids: torch.zeros(len(ids)),
            window_frames=lambda start, written, ids: written[:, None],
        ),
        window=SimpleNamespace(
            push=lambda f: None, features=lambda: torch.zeros(N, 1, 1), reset=lambda i, f: None
        ),
        episodes=EpisodeStats(N, task.metrics, torch.device("cpu")),
        generator=torch.Generator(),
        action_bounds=(torch.full((1,), -2.0), torch.full((1,), 2.0)),
    )


@pytest.mark.parametrize("mode", list(AutoresetMode), ids=lambda m: m.name)
def test_same_transitions_and_gymnasium_keys_as_sync_vector_env(mode):
    ours = fake_env(mode)
    theirs = SyncVectorEnv([lambda i=i: Counter(i) for i in range(N)], autoreset_mode=mode)
    obs, _ = ours.reset(seed=0)
    ref_obs, _ = theirs.reset(seed=0)
    np.testing.assert_array_equal(obs.numpy(), ref_obs)
    rng = np.random.default_rng(0)
    returns, lengths, prev_done, ended = np.zeros(N), np.zeros(N, int), np.zeros(N, bool), 0
    for step in range(40):
        a = rng.uniform(-0.5, 1.5, (N, 1)).astype(np.float32)
        obs, reward, terminated, truncated, info = ours.step(torch.as_tensor(a))
        ref_obs, ref_reward, ref_term, ref_trunc, ref_info = theirs.step(a)
        np.testing.assert_array_equal(obs.numpy(), ref_obs, err_msg=f"step {step}")
        np.testing.assert_allclose(reward.numpy(), ref_reward, rtol=1e-6, err_msg=f"step {step}")
        assert terminated.tolist() == ref_term.tolist() and truncated.tolist() == ref_trunc.tolist()
        assert GYM_KEYS & set(info) == set(ref_info), f"step {step}"
        if "final_obs" in ref_info:
            done = ref_info["_final_obs"]
            assert info["_final_obs"].tolist() == done.tolist() == info["_final_info"].tolist()
            np.testing.assert_array_equal(
                info["final_obs"][done].numpy(), np.stack(ref_info["final_obs"][done])
            )
            # final_info: the step's own keys (as SyncVectorEnv), no episode statistics
            assert set(info["final_info"]) == {"task_reward", "smp_reward", "sds_error"} | {
                "nonfinite",
                "metric_pos",
            }
            assert info["final_info"]["task_reward"] is info["task_reward"]
        done = ref_term | ref_trunc
        counted = ~prev_done if mode is AutoresetMode.NEXT_STEP else np.ones(N, bool)
        returns[counted] += ref_reward[counted]  # a NEXT_STEP restart step is no transition
        lengths[counted] += 1
        stats, mask = episode_info(info), episode_mask(info)
        if done.any():  # every ended episode reported, with its return and length, in every mode
            assert mask.tolist() == done.tolist()
            np.testing.assert_allclose(stats["return"][mask].numpy(), returns[done], rtol=1e-5)
            assert stats["length"][mask].tolist() == lengths[done].tolist()
            assert stats["terminated"][mask].tolist() == ref_term[done].tolist()
            assert (stats["pos"][mask] == info["metric_pos"][mask]).all()  # reduce="last"
            ended += int(done.sum())
        else:
            assert mask is None and not stats
        returns[done], lengths[done], prev_done = 0.0, 0, done
        if mode is AutoresetMode.DISABLED and done.any():
            with pytest.raises(RuntimeError, match="autoreset_mode is DISABLED"):
                ours.step(torch.as_tensor(a))
            obs, _ = ours.reset(options={"reset_mask": torch.as_tensor(done)})
            ref_obs, _ = theirs.reset(options={"reset_mask": done})
            np.testing.assert_array_equal(obs.numpy(), ref_obs)
    assert ended >= 10


def test_next_step_restart_rows_carry_the_reset_info_and_skip_the_normalizer():
    env = fake_env(AutoresetMode.NEXT_STEP)
    env.reset(seed=0)
    for _ in range(MAX_T - 1):
        env.step(torch.zeros(N, 1))
    env.sim.pos[1] = 5.0  # env 1's state at the ending step, seen in its metric
    _, _, _, truncated, info = env.step(torch.zeros(N, 1))
    assert truncated.all() and info["smp_episode/pos"].tolist() == [0.0, 5.0, 0.0]
    _, reward, terminated, truncated, info = env.step(torch.full((N, 1), 2.0))
    assert env.sim.deferred[-1].all()  # mjlab is told to step them once more, then reset them
    assert env.reward.valid[-1].tolist() == [False] * N  # the discarded step's error: not kept
    for key in ("task_reward", "smp_reward", "sds_error", "nonfinite", "metric_pos"):
        assert info[key].tolist() == [0] * N, key  # the reset's info: none of the step keys
    assert reward.tolist() == [0.0] * N and not (terminated | truncated).any()
    assert not {k for k in info if k.startswith(("smp_episode/", "_smp_episode/"))}
    assert not GYM_KEYS & set(info)
