"""rl_games row: rl_games' own ``Runner`` trains the env for 2 epochs through our ``vecenv``
registration (``smp_gym.adapters.rl_games``) with the example's config (asymmetric critic,
``value_bootstrap``, rl_games' ``IsaacAlgoObserver``), and what rl_games did is read back from
its own buffers and TensorBoard files:

- ``time_outs``: rl_games adds ``γ·V(s)`` to the reward exactly on the steps the env truncated;
- episode info: the ``Episode/<stat>`` scalars rl_games' observer wrote match the episodes the
  env emitted, and ``Episode/return`` equals rl_games' own return accounting (``rewards/iter``);
- the critic: rl_games' central-value network takes ``state()``'s width, and the states in its
  rollout buffer are the env's ``state()`` of each step.
"""

import gymnasium
import pytest
import torch

pytest.importorskip("rl_games")
from rl_games.common import vecenv  # noqa: E402
from rl_games.torch_runner import Runner  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from examples.rl_games_ppo import Args, Observer, export_bundle, rl_games_cfg  # noqa: E402
from smp_gym.adapters.rl_games import SmpRlGamesVecEnv, register  # noqa: E402
from smp_gym.episodes import episode_info, episode_mask  # noqa: E402
from smp_gym.errors import ConfigError  # noqa: E402
from smp_gym.tools.policy import load_bundle, save_bundle  # noqa: E402
from tests.sim.conftest import SMALL_GSI, make  # noqa: E402

pytestmark = pytest.mark.sim
N, HORIZON, EPOCHS, GAMMA = 2, 8, 2, 0.99


class Recorder(gymnasium.vector.VectorWrapper):
    """Keeps what the env returned, to compare with what rl_games made of it."""

    def __init__(self, env) -> None:
        super().__init__(env)
        self.states: list[torch.Tensor] = []  # after each reset/step
        self.steps: list[dict] = []

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        self.states = [self.env.unwrapped.state().clone()]
        self.steps = []
        return out

    def step(self, actions):
        obs, reward, terminated, truncated, info = self.env.step(actions)
        self.states.append(self.env.unwrapped.state().clone())
        self.steps.append(
            {
                "reward": reward.clone(),
                "terminated": terminated.clone(),
                "truncated": truncated.clone(),
                "episode": {k: v.clone() for k, v in episode_info(info).items()},
                "ended": episode_mask(info),
            }
        )
        return obs, reward, terminated, truncated, info


def scalars(summaries) -> dict[str, list[float]]:
    acc = EventAccumulator(str(summaries))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_runner_trains_two_epochs(tmp_path):
    recorder = Recorder(make("SmpSteeringG1-v0", num_envs=N, episode_length_s=0.1))
    state_dim = recorder.unwrapped.single_state_space.shape[0]
    obs_dim = recorder.unwrapped.single_observation_space.shape[0]
    name = register("SmpSteeringG1-v0", name="smp_test_rl_games", env=SmpRlGamesVecEnv(recorder))
    args = Args(horizon=HORIZON, mini_epochs=1, mini_batches=2, hidden=(32,), gamma=GAMMA)
    cfg = rl_games_cfg(args, name, N, EPOCHS, device="cpu", train_dir=tmp_path, seed=0)
    observer = Observer()
    runner = Runner(algo_observer=observer)
    runner.load(cfg)
    runner.run({"train": True, "play": False})
    algo = observer.algo
    assert algo.epoch_num == EPOCHS

    # The critic reads state(): its width, and the states of the last rollout step by step.
    critic_in = next(m for m in algo.central_value_net.modules() if isinstance(m, torch.nn.Linear))
    actor_in = next(m for m in algo.model.modules() if isinstance(m, torch.nn.Linear))
    assert (critic_in.in_features, actor_in.in_features) == (state_dim, obs_dim)
    assert state_dim != obs_dim
    buf = algo.experience_buffer.tensor_dict
    last = len(recorder.steps) - HORIZON  # first step of the last epoch's rollout
    assert last == (EPOCHS - 1) * HORIZON
    for n in range(HORIZON):
        torch.testing.assert_close(buf["states"][n], recorder.states[last + n])

    # time_outs: rl_games' stored reward is r + γ·V(s) where the env truncated, r elsewhere.
    truncated = torch.stack([s["truncated"] & ~s["terminated"] for s in recorder.steps[last:]])
    raw = torch.stack([s["reward"] for s in recorder.steps[last:]])
    assert truncated.any() and not truncated.all()
    expected = raw + GAMMA * buf["values"][..., 0] * truncated.float()
    torch.testing.assert_close(buf["rewards"][..., 0], expected)
    assert not torch.allclose(buf["rewards"][..., 0], raw)

    # Episode info: what rl_games' IsaacAlgoObserver wrote, epoch by epoch, is the mean over the
    # steps where episodes ended of the ended envs' mean (its documented averaging).
    algo.writer.flush()
    logged = scalars(tmp_path / "rl_games" / "summaries")
    for stat in ("return", "length", "task_return", "smp_reward", "sds_error", "terminated"):
        per_epoch = []
        for e in range(EPOCHS):
            steps = [s for s in recorder.steps[e * HORIZON : (e + 1) * HORIZON] if s["episode"]]
            means = [s["episode"][stat][s["ended"]].float().mean() for s in steps]
            per_epoch.append(float(torch.stack(means).mean()))
        assert logged[f"Episode/{stat}"] == pytest.approx(per_epoch, rel=1e-5), stat
    # episodes of 0.1 s = 5 steps at 50 Hz; none ended early
    assert logged["Episode/length"] == pytest.approx([5.0] * EPOCHS)
    # our returns agree with rl_games' own accounting of the first epoch's two episodes
    assert logged["rewards/iter"][0] == pytest.approx(logged["Episode/return"][0], rel=1e-5)

    # The example's exported policy acts as rl_games' deterministic actor (normalizer, clip, mu).
    policy, _ = load_bundle(
        save_bundle(export_bundle(algo, args, recorder, {}, N), tmp_path / "p.pt")
    )
    far = 3 * torch.randn(5, obs_dim, generator=torch.Generator().manual_seed(0))
    obs = torch.cat([algo.obs["obs"], far])  # some beyond the normalizer's ±5 clip
    algo.model.eval()
    with torch.no_grad():
        mus = algo.model({"is_train": False, "prev_actions": None, "obs": obs.clone()})["mus"]
        torch.testing.assert_close(policy(obs), mus, rtol=1e-4, atol=1e-5)
    recorder.close()


def test_runner_builds_the_env_from_the_registry():
    name = register("SmpSteeringG1-v0", name="smp_test_registry", device="cpu", gsi=SMALL_GSI)
    env = vecenv.create_vec_env(name, 2, seed=3)  # what rl_games' agent calls with num_actors
    try:
        assert isinstance(env, SmpRlGamesVecEnv) and env.num_envs == 2
        assert env.env.unwrapped.cfg.seed == 3  # rl_games' seed reached make_vec
        info = env.get_env_info()
        assert info["state_space"].shape == env.env.unwrapped.single_state_space.shape
        obs = env.reset()
        assert obs["obs"].device.type == "cpu" and obs["states"].shape == (
            2,
            *info["state_space"].shape,
        )
        with pytest.raises(ConfigError, match="num_actors=4"):
            register("SmpSteeringG1-v0", name="smp_test_prebuilt", env=env)
            vecenv.create_vec_env("smp_test_prebuilt", 4)
    finally:
        env.close()
