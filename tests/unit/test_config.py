"""Configuration errors name the field, the value received and the fix."""

import pytest

from smp_gym.config import GsiCfg, SmpEnvCfg, SmpRewardCfg, build_dataclass
from smp_gym.errors import ConfigError
from smp_gym.make import build_cfg
from smp_gym.registry import task_info


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"ws": -1.0}, "reward.ws: received -1.0"),
        ({"timesteps": ()}, "reward.timesteps"),
        ({"timesteps": (8, 8)}, "unique"),
        ({"mode": "sum"}, "'product' or 'weighted_sum'"),
    ],
)
def test_reward_cfg_validation(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        SmpRewardCfg(**kwargs)


def test_gsi_cfg_validation():
    with pytest.raises(ConfigError, match="refresh_count=10 exceeds gsi.pool_size=4"):
        GsiCfg(pool_size=4, refresh_count=10)
    with pytest.raises(ConfigError, match="init='dataset' needs"):
        GsiCfg(init="dataset")
    with pytest.raises(ConfigError, match="gsi.init: received 'rsi'"):
        GsiCfg(init="rsi")


def test_overrides_unknown_keys_and_types():
    with pytest.raises(
        ConfigError, match=r"unknown override\(s\) \['wss'\]; valid keys: .*'reward'"
    ):
        build_cfg("SmpSteeringG1-v0", wss=1)
    with pytest.raises(ConfigError, match=r"reward: unknown keys \['w'\]; valid keys"):
        build_cfg("SmpSteeringG1-v0", reward={"w": 1})
    with pytest.raises(ConfigError, match=r"reward.ws: received 'high' \(str\); expected float"):
        build_cfg("SmpSteeringG1-v0", reward={"ws": "high"})
    with pytest.raises(ConfigError, match=r"make_vec.seed: received 1.5 \(float\); expected int"):
        build_cfg("SmpSteeringG1-v0", seed=1.5)
    with pytest.raises(ConfigError, match="one of 'product', 'weighted_sum'"):
        build_dataclass(SmpRewardCfg, {"mode": "sum"}, "reward")
    with pytest.raises(ConfigError, match="pass a SimCfg"):
        SmpEnvCfg(sim={"push_robot": False})
    cfg = build_cfg("SmpSteeringG1-v0", reward={"ws": 4.0}, gsi={"init": "default"}, seed=3)
    assert cfg.reward.ws == 4.0 and cfg.gsi.init == "default" and cfg.seed == 3


def test_unknown_task_lists_valid_ids():
    with pytest.raises(ConfigError, match="valid ids: 'SmpForwardG1-v0'"):
        task_info("SmpJumpG1-v0")
    assert task_info("steering").id == "SmpSteeringG1-v0"


def test_partial_overrides_merge_into_the_tasks_defaults():
    # docs/reference.md#reward-composition: ws is 4 for Location and 6 for the other tasks.
    cfg = build_cfg("SmpLocationG1-v0", reward={"mode": "weighted_sum"})
    assert cfg.reward.mode == "weighted_sum" and cfg.reward.ws == 4.0
    assert cfg.reward.timesteps == (8, 15, 22) and cfg.reward.task_weight == 0.5
    assert build_cfg("SmpSteeringG1-v0", reward={"mode": "weighted_sum"}).reward.ws == 6.0
    assert build_cfg("SmpLocationG1-v0", reward={"ws": 2.5}).reward.ws == 2.5
    cfg = build_cfg("SmpSteeringG1-v0", gsi={"pool_size": 8}, sim={"push_robot": False})
    assert cfg.gsi.pool_size == 8 and cfg.gsi.init == "gsi" and cfg.gsi.refresh_interval == 2400
    assert not cfg.sim.push_robot and cfg.sim.critic_history == 10
