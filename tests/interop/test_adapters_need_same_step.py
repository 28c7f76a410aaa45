"""Our trainer adapters need SAME_STEP (they read final_obs and let the env reset itself): an env
built in another mode gets an error saying which mode to build it with."""

import pytest

from smp_gym.errors import ConfigError
from tests.sim.conftest import make

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("library", ["sb3", "skrl", "rsl_rl", "rl_games"])
def test_adapter_refuses_a_next_step_env(library):
    env = make("SmpSteeringG1-v0", num_envs=2, autoreset_mode="NextStep", gsi={"init": "default"})
    if library == "sb3":
        from smp_gym.adapters.sb3 import SmpSb3VecEnv as Adapter
    elif library == "skrl":
        from smp_gym.adapters.skrl import SmpSkrlWrapper as Adapter
    elif library == "rsl_rl":
        from smp_gym.adapters.rsl_rl import SmpRslRlVecEnv as Adapter
    else:
        pytest.importorskip("rl_games")
        from smp_gym.adapters.rl_games import SmpRlGamesVecEnv as Adapter
    with pytest.raises(
        ConfigError,
        match=r"autoreset_mode=AutoresetMode.NEXT_STEP; it needs "
        r"AutoresetMode.SAME_STEP.*autoreset_mode='SameStep'",
    ):
        Adapter(env)
    env.close()
