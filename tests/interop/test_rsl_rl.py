"""rsl_rl row: two PPO iterations of OnPolicyRunner through our VecEnv adapter (TensorDict
observations {actor, critic}, ``time_outs`` for bootstrapping)."""

import pytest
import torch

pytest.importorskip("rsl_rl")
from rsl_rl.runners import OnPolicyRunner  # noqa: E402

from examples.rsl_rl_ppo import Args, runner_cfg  # noqa: E402
from smp_gym.adapters.rsl_rl import SmpRslRlVecEnv  # noqa: E402
from tests.sim.conftest import make  # noqa: E402

pytestmark = pytest.mark.sim


def test_two_iterations(tmp_path):
    env = SmpRslRlVecEnv(make("SmpSteeringG1-v0", num_envs=2, episode_length_s=0.1))
    cfg = runner_cfg(Args(steps_per_env=8, hidden=(32, 32), save_interval=1), seed=0)
    runner = OnPolicyRunner(env, cfg, log_dir=str(tmp_path), device="cpu")
    before = {k: v.clone() for k, v in runner.alg.actor.state_dict().items()}
    runner.learn(num_learning_iterations=2)
    after = runner.alg.actor.state_dict()
    assert runner.current_learning_iteration == 1
    assert any(not torch.equal(before[k], after[k]) for k in before if "mlp" in k)
    assert any(p.name.startswith("model_") for p in tmp_path.iterdir())  # rsl_rl's own checkpoints
    env.close()
