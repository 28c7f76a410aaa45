"""Each task's reward pinned by hand: the task terms to docs/reference.md#forward through
docs/reference.md#getup, r_smp to docs/reference.md#sds-reward and
docs/reference.md#reward-composition.

Every expected value is arithmetic written out in the test from the spec's formulas, never a
call to the function under test. The env-level checks write a hand-made state (root pose and
velocity, command) into the simulator right before mjlab computes the task reward, so
``info["task_reward"]`` must equal the hand value for that state.
"""

from __future__ import annotations

import math

import pytest
import torch

from tests.sim.conftest import make

pytestmark = pytest.mark.sim

QUIET = {"push_robot": False, "domain_randomization": False, "observation_noise": False}
HEAD_ABOVE_ROOT = 0.044 + 0.43
"""Head site height above the pelvis origin, upright with the waist at 0: waist_roll_link sits
0.044 m above pelvis (the G1 model's body pos; waist_yaw_link and torso_link add 0) and the
``head`` site is 0.43 m above torso_link (docs/reference.md#getup)."""


def yaw_quat(h: float) -> list[float]:
    """(w, x, y, z) of a rotation by ``h`` about world z."""
    return [math.cos(h / 2), 0.0, 0.0, math.sin(h / 2)]


# --------------------------------------------------------------------------- pure functions
def test_velocity_term_by_hand():
    """exp(-s·|v*·d - v|²), and 0 when v·d < 0 (docs/reference.md#forward)."""
    from smp_gym.envs.steering import velocity_reward

    d = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.6, 0.8]])
    speed = torch.tensor([2.0, 2.0, 2.0, 1.0])
    v = torch.tensor([[1.5, 0.2], [-0.1, 0.3], [0.0, 2.0], [0.3, 0.4]])
    # |(2,0)-(1.5,0.2)|² = 0.25+0.04 = 0.29; backwards (v·d = -0.1) -> 0; sideways (v·d = 0, not
    # < 0) |(2,0)-(0,2)|² = 8; |(0.6,0.8)-(0.3,0.4)|² = 0.09+0.16 = 0.25.
    want = [math.exp(-0.5 * 0.29), 0.0, math.exp(-0.5 * 8.0), math.exp(-0.5 * 0.25)]
    assert velocity_reward(d, speed, v, 0.5).tolist() == pytest.approx(want, rel=1e-6)
    want_s1 = [math.exp(-0.29), 0.0, math.exp(-8.0), math.exp(-0.25)]  # Steering: s = 1
    assert velocity_reward(d, speed, v, 1.0).tolist() == pytest.approx(want_s1, rel=1e-6)


def test_facing_term_by_hand():
    """max(f · (cos h, sin h), 0) (docs/reference.md#steering)."""
    from smp_gym.envs.steering import facing_reward

    f = torch.tensor([[math.cos(math.pi / 6), math.sin(math.pi / 6)], [0.0, 1.0], [1.0, 0.0]])
    h = torch.tensor([math.pi / 2, math.pi / 6, math.pi])
    # 30° target, 90° heading: cos 60° = 0.5; +y target, 30° heading: sin 30° = 0.5; opposite: -1 -> 0
    assert facing_reward(f, h).tolist() == pytest.approx([0.5, 0.5, 0.0], abs=1e-6)


def test_location_term_is_linear_in_distance():
    """exp(-0.25·|goal - xy|), the distance not squared (docs/reference.md#location)."""
    from smp_gym.envs.location import location_reward

    goal = torch.tensor([[3.0, 4.0], [1.0, -1.0]])
    root = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    # distances 5 and 2: exp(-1.25), exp(-0.5) (squared would give exp(-6.25), exp(-1))
    assert location_reward(goal, root, 0.25).tolist() == pytest.approx(
        [math.exp(-1.25), math.exp(-0.5)], rel=1e-6
    )


def test_getup_terms_by_hand():
    """upward = exp(-100·min(v_z - 0.25, 0)²) below 0.9 m else 1; head = exp(-min(z - 1.1, 0)²)."""
    from smp_gym.envs.getup import head_height_reward, upward_reward

    z = torch.tensor([0.5, 0.5, 1.0, 0.1])
    vz = torch.tensor([0.1, 0.4, -1.0, -0.05])
    # 0.1 - 0.25 = -0.15 -> exp(-2.25); 0.4 > 0.25 -> 1; head above 0.9 -> 1 whatever v_z;
    # -0.05 - 0.25 = -0.3 -> exp(-9)
    assert upward_reward(z, vz).tolist() == pytest.approx(
        [math.exp(-2.25), 1.0, 1.0, math.exp(-9.0)], rel=1e-6
    )
    # (0.5-1.1)² = 0.36; (1.0-1.1)² = 0.01; (0.1-1.1)² = 1; 1.3 > 1.1 -> 1
    heights = torch.tensor([0.5, 1.0, 0.1, 1.3])
    want = [math.exp(-0.36), math.exp(-0.01), math.exp(-1.0), 1.0]
    assert head_height_reward(heights).tolist() == pytest.approx(want, rel=1e-6)


# --------------------------------------------------------------------------- through a real env
@pytest.fixture(scope="module")
def envs():
    """One small env per task (default-pose starts, no pushes or randomization), built lazily."""
    built = {}

    def get(task: str):
        if task not in built:
            built[task] = make(task, num_envs=2, gsi={"init": "default"}, sim=QUIET)
            built[task].reset(seed=0)
        return built[task]

    yield get
    for env in built.values():
        env.close()


def write_root(env, pos, quat, lin_vel, ang_vel=None) -> None:
    """Write env-local root pose and world velocity, joints at the default pose and at rest."""
    sim = env.unwrapped.sim
    robot = sim.scene["robot"]
    n = env.num_envs
    pos = torch.tensor(pos, dtype=torch.float32) + sim.scene.env_origins
    ang = torch.zeros(n, 3) if ang_vel is None else torch.tensor(ang_vel, dtype=torch.float32)
    state = torch.cat(
        (
            pos,
            torch.tensor(quat, dtype=torch.float32),
            torch.tensor(lin_vel, dtype=torch.float32),
            ang,
        ),
        -1,
    )
    robot.write_root_state_to_sim(state)
    robot.write_joint_state_to_sim(
        robot.data.default_joint_pos.clone(), torch.zeros_like(robot.data.default_joint_vel)
    )


def step_in_state(env, write):
    """``env.step(zeros)`` with ``write()`` (plus forward kinematics) applied right before mjlab
    computes the task reward: the reward reads exactly the hand-made state."""
    sim = env.unwrapped.sim
    manager = sim.reward_manager
    original = manager.compute

    def compute(dt):
        write()
        sim.sim.forward()
        return original(dt)

    manager.compute = compute
    try:
        return env.step(torch.zeros(env.num_envs, env.single_action_space.shape[0]))
    finally:
        del manager.compute


def test_forward_reward_in_the_env_uses_world_x(envs):
    """Heading +y (90°), target 2 m/s along world +x: the reward ignores the robot's heading."""
    env = envs("SmpForwardG1-v0")
    cmd = env.unwrapped.sim.command_manager.get_term("steering")
    assert (
        cmd.tar_dir_w.tolist() == [[1.0, 0.0]] * 2 and cmd.face_dir_w.tolist() == [[1.0, 0.0]] * 2
    )
    assert ((cmd.tar_speed >= 0.5) & (cmd.tar_speed <= 5.0)).all()

    def write():
        cmd.tar_speed[:] = 2.0
        write_root(
            env,
            [[0, 0, 0.76]] * 2,
            [yaw_quat(math.pi / 2)] * 2,
            [[1.5, 0.2, 0.0], [-0.3, 0.1, 0.0]],
        )

    _, _, _, _, info = step_in_state(env, write)
    # |(2,0)-(1.5,0.2)|² = 0.25 + 0.04 = 0.29; moving backwards (v·x̂ = -0.3 < 0) -> 0
    want = [math.exp(-0.5 * 0.29), 0.0]
    assert info["task_reward"].tolist() == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_steering_reward_in_the_env_weights_velocity_and_facing_half_half(envs):
    """docs/reference.md#steering: 0.5·velocity + 0.5·facing. The reference's inline comment says 0.7/0.3;
    that comment is stale (the spec records the code's 0.5/0.5, and Getup is the 0.7/0.3 task)."""
    env = envs("SmpSteeringG1-v0")
    cmd = env.unwrapped.sim.command_manager.get_term("steering")
    d = [math.cos(math.pi / 3), math.sin(math.pi / 3)]  # travel at 60°, 1 m/s; face +y

    def write():
        cmd.tar_dir_w[:] = torch.tensor([d, d])
        cmd.tar_speed[:] = 1.0
        cmd.face_dir_w[:] = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
        write_root(
            env,
            [[0, 0, 0.76]] * 2,
            [yaw_quat(math.pi / 6), yaw_quat(2 * math.pi / 3)],
            [[0.4, 0.9, 0.0], [-0.5, -0.1, 0.0]],
        )

    _, _, _, _, info = step_in_state(env, write)
    # env 0: |(0.5, 0.866025)-(0.4, 0.9)|² = 0.01 + 0.033975² = 0.0111543; facing sin 30° = 0.5
    err0 = (0.5 - 0.4) ** 2 + (math.sqrt(3) / 2 - 0.9) ** 2
    # env 1: v·d = -0.25 - 0.0866 < 0 -> velocity 0; heading 120°: facing sin 120° = 0.866025
    want = [0.5 * math.exp(-1.0 * err0) + 0.5 * 0.5, 0.5 * 0.0 + 0.5 * math.sin(2 * math.pi / 3)]
    assert info["task_reward"].tolist() == pytest.approx(want, rel=1e-4)


def test_location_reward_in_the_env_is_linear_in_distance(envs):
    env = envs("SmpLocationG1-v0")
    sim = env.unwrapped.sim
    cmd = sim.command_manager.get_term("location")

    def write():
        write_root(
            env, [[1.0, -2.0, 0.76], [0.5, 0.5, 0.76]], [yaw_quat(0.3)] * 2, [[0.0, 0.0, 0.0]] * 2
        )
        origin = sim.scene.env_origins[:, :2]
        cmd.goal_w[:] = origin + torch.tensor(
            [[4.0, 2.0], [0.5, -1.5]]
        )  # offsets (3, 4) and (0, -2)

    _, _, _, _, info = step_in_state(env, write)
    # distances 5 and 2 m: exp(-0.25·5), exp(-0.25·2)
    assert info["task_reward"].tolist() == pytest.approx(
        [math.exp(-1.25), math.exp(-0.5)], rel=1e-4
    )


def test_getup_reward_in_the_env_weights_upward_and_head_height(envs):
    env = envs("SmpGetupG1-v0")
    root_z = [0.3, 0.56]
    # env 0: head z = 0.3 + 0.474 = 0.774 < 0.9, rising at 0.1 m/s (no rotation: head v = root v)
    # env 1: head z = 1.034 >= 0.9, falling at 1 m/s: upward is 1 above the threshold

    def write():
        write_root(
            env,
            [[0, 0, root_z[0]], [0, 0, root_z[1]]],
            [yaw_quat(0.0)] * 2,
            [[0.0, 0.0, 0.1], [0.0, 0.0, -1.0]],
        )

    _, _, _, _, info = step_in_state(env, write)
    z0, z1 = root_z[0] + HEAD_ABOVE_ROOT, root_z[1] + HEAD_ABOVE_ROOT
    up0 = math.exp(-100 * (0.1 - 0.25) ** 2)  # exp(-2.25)
    want = [
        0.7 * up0 + 0.3 * math.exp(-((z0 - 1.1) ** 2)),
        0.7 * 1.0 + 0.3 * math.exp(-((z1 - 1.1) ** 2)),
    ]
    assert info["task_reward"].tolist() == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize(
    ("task", "steps"),
    [
        ("SmpForwardG1-v0", 1000),
        ("SmpSteeringG1-v0", 1000),
        ("SmpLocationG1-v0", 1000),
        ("SmpGetupG1-v0", 250),
    ],
)
def test_episode_length_in_steps(envs, task, steps):
    """docs/reference.md#episode-lengths: 20 s episodes (Getup 5 s) at the 0.02 s control step: 1000 and 250 steps."""
    assert envs(task).unwrapped.max_episode_steps == steps


# --------------------------------------------------------------------------- r_smp and ws
WS = {
    "SmpForwardG1-v0": 6.0,
    "SmpSteeringG1-v0": 6.0,
    "SmpLocationG1-v0": 4.0,
    "SmpGetupG1-v0": 6.0,
}
"""docs/reference.md#reward-composition: ws = 6 for Forward, Steering and Getup, 4 for Location."""

ERRORS = [  # per step: [env][k] raw SDS error at k = (8, 15, 22)
    [[0.2, 0.4, 0.6], [0.6, 0.8, 1.0]],
    [[0.1, 0.1, 0.1], [0.3, 0.5, 0.7]],
    [[0.9, 0.9, 0.9], [0.9, 0.9, 0.9]],
]
# The running mean μ_k is updated with this step's batch BEFORE normalizing
# (docs/reference.md#running-normalizer):
#   step 1 (first batch, μ = its mean): μ = ((0.2+0.6)/2, (0.4+0.8)/2, (0.6+1.0)/2) = (0.4, 0.6, 0.8)
#   step 2 (count-weighted, 2 + 2 samples): μ = (2·(0.4, 0.6, 0.8) + (0.4, 0.6, 0.8)) / 4
#          = (0.3, 0.45, 0.6)
#   step 3 (4 + 2 samples): μ = (4·(0.3, 0.45, 0.6) + (1.8, 1.8, 1.8)) / 6 = (0.5, 0.6, 0.7)
MU = [(0.4, 0.6, 0.8), (0.3, 0.45, 0.6), (0.5, 0.6, 0.7)]
MEAN_RATIO = [  # mean_k err_k / μ_k per step and env
    [(0.2 / 0.4 + 0.4 / 0.6 + 0.6 / 0.8) / 3, (0.6 / 0.4 + 0.8 / 0.6 + 1.0 / 0.8) / 3],
    [(0.1 / 0.3 + 0.1 / 0.45 + 0.1 / 0.6) / 3, (0.3 / 0.3 + 0.5 / 0.45 + 0.7 / 0.6) / 3],
    [(0.9 / 0.5 + 0.9 / 0.6 + 0.9 / 0.7) / 3] * 2,
]


class ScriptedScorer:
    """Stands in for the prior: returns the scripted raw errors, one [N, K] batch per call."""

    def __init__(self, real, batches):
        self.real, self.batches, self.seen = real, [torch.tensor(b) for b in batches], []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __call__(self, features, *args, **kwargs):
        self.seen.append(tuple(features.shape))
        return self.batches[len(self.seen) - 1].to(features.device)


@pytest.mark.parametrize("task", list(WS))
def test_smp_reward_is_exp_of_ws_times_mean_error_over_running_mean(envs, task):
    env = envs(task)
    u = env.unwrapped
    assert u.reward.cfg.ws == WS[task]
    env.reset(seed=0)  # episode length 0: Getup's SMP termination stays in its 5-step grace
    normalizer = u.reward.normalizer
    normalizer.load_state_dict(
        {"mean": torch.ones(3, dtype=torch.float64), "count": torch.zeros(3, dtype=torch.float64)}
    )
    real = u.reward.scorer
    u.reward.scorer = ScriptedScorer(real, ERRORS)
    try:
        for step in range(3):
            _, reward, _, _, info = env.step(torch.zeros(2, 29))
            want = [math.exp(-WS[task] * m) for m in MEAN_RATIO[step]]
            assert info["smp_reward"].tolist() == pytest.approx(want, rel=1e-5), step
            assert normalizer.mean.tolist() == pytest.approx(MU[step], rel=1e-6), step
            raw_mean = [sum(row) / 3 for row in ERRORS[step]]
            assert info["sds_error"].tolist() == pytest.approx(raw_mean, rel=1e-6)
            # product mode (docs/reference.md#reward-composition): reward = task × r_smp
            assert reward.tolist() == pytest.approx(
                (info["task_reward"] * torch.tensor(want)).tolist(), rel=1e-5
            )
        assert normalizer.count.tolist() == [6.0, 6.0, 6.0]
        assert u.reward.scorer.seen == [(2, 10, 59)] * 3  # the 10-frame, 59-feature window
    finally:
        u.reward.scorer = real
