"""Task-specific behaviour, including the two reference bugs we fix (docs/reference.md#reference-bugs-fixed)."""

import pytest
import torch

from tests.sim.conftest import make

pytestmark = pytest.mark.sim


def test_location_goals_are_placed_around_the_post_reset_position():
    env = make("SmpLocationG1-v0", num_envs=4, sim={"push_robot": False})
    u = env.unwrapped
    env.reset(seed=0)
    for _ in range(3):
        env.step(0.5 * torch.ones(4, 29))
    # Teleport-free check: every reset env gets a goal 1-10 m from where GSI put it, however far
    # the previous episode wandered.
    u.sim.scene["robot"].data.data.qpos[:, 0] += 30.0  # move the robots far away before a reset
    u.sim.sim.forward()
    env.reset(options={"reset_mask": torch.tensor([True, True, False, False])})
    cmd = u.sim.command_manager.get_term("location")
    root = u.sim.scene["robot"].data.root_link_pos_w[:, :2]
    dist = (cmd.goal_w - root).norm(dim=-1)
    assert ((dist[:2] >= 1.0 - 1e-4) & (dist[:2] <= 10.0 + 1e-4)).all(), dist
    env.close()


def test_getup_smp_termination_uses_this_steps_error():
    env = make("SmpGetupG1-v0", num_envs=2)
    u = env.unwrapped
    env.reset(seed=0)
    for _ in range(6):  # past the 5 grace steps
        env.step(torch.zeros(2, 29))
    real = u.reward.scorer

    class Bad:
        def __call__(self, features, generator=None):
            err = real(features, generator).clone()
            err[1] = 10.0  # env 1 looks wildly unnatural *this* step
            return err

    u.reward.scorer = Bad()
    _, _, terminated, _, info = env.step(torch.zeros(2, 29))
    assert terminated.tolist() == [False, True]
    assert info["smp_episode/terminated"][1]
    env.close()


def test_getup_has_a_head_site_and_no_self_collision_termination():
    env = make("SmpGetupG1-v0", num_envs=1)
    u = env.unwrapped
    robot = u.sim.scene["robot"]
    assert "head" in robot.site_names
    assert "self_collision" not in u.sim.termination_manager.active_terms
    assert u.max_episode_steps == 250
    env.reset(seed=0)
    _, _, _, _, info = env.step(torch.zeros(1, 29))
    assert {k for k in info if k.startswith("metric_")} == {
        "metric_head_height",
        "metric_standing",
        "metric_stood_up",
    }
    env.close()


@pytest.mark.parametrize(
    ("env_id", "obs_dim", "state_dim"),
    [
        ("SmpForwardG1-v0", 101, 1010),
        ("SmpSteeringG1-v0", 101, 1010),
        ("SmpLocationG1-v0", 98, 980),
        ("SmpGetupG1-v0", 96, 960),
    ],
)
def test_observation_sizes_match_the_reference(env_id, obs_dim, state_dim):
    env = make(env_id, num_envs=1, gsi={"init": "default"})
    assert env.unwrapped.single_observation_space.shape == (obs_dim,)
    assert env.unwrapped.single_state_space.shape == (state_dim,)
    env.close()


def test_steering_command_is_in_the_heading_frame():
    env = make(
        "SmpSteeringG1-v0",
        num_envs=2,
        gsi={"pool_size": 16, "batch_size": 16, "random_heading": True},
    )
    u = env.unwrapped
    env.reset(seed=3)
    cmd = u.sim.command_manager.get_term("steering")
    h = u.sim.scene["robot"].data.heading_w
    local = cmd.command[:, :2]
    world = torch.stack(
        [
            torch.cos(h) * local[:, 0] - torch.sin(h) * local[:, 1],
            torch.sin(h) * local[:, 0] + torch.cos(h) * local[:, 1],
        ],
        -1,
    )
    assert torch.allclose(world, cmd.tar_dir_w, atol=1e-5)
    face_local = cmd.command[:, 3:5]
    face_world = torch.stack(
        [
            torch.cos(h) * face_local[:, 0] - torch.sin(h) * face_local[:, 1],
            torch.sin(h) * face_local[:, 0] + torch.cos(h) * face_local[:, 1],
        ],
        -1,
    )
    assert torch.allclose(face_world, cmd.face_dir_w, atol=1e-5)
    assert torch.equal(cmd.command[:, 2], cmd.tar_speed)
    assert ((cmd.tar_speed >= 0.5) & (cmd.tar_speed <= 2.0)).all()
    # random_heading: both starts are turned away from +x, by different angles, so the rotation
    # into the heading frame is exercised (with h = 0 the check above would pass for any frame)
    assert (h.abs() > 0.1).all() and abs(float(h[0] - h[1])) > 0.1, h
    assert not torch.allclose(local, cmd.tar_dir_w, atol=1e-2)
    env.close()


def test_random_heading_also_turns_default_pose_starts():
    """GsiCfg.random_heading: 'Start each episode at a uniformly random heading instead of facing
    world +x' (any init mode)."""
    env = make("SmpSteeringG1-v0", num_envs=2, gsi={"init": "default", "random_heading": True})
    env.reset(seed=3)
    h = env.unwrapped.sim.scene["robot"].data.heading_w
    assert (h.abs() > 1e-3).all() and abs(float(h[0] - h[1])) > 1e-3, h
    env.close()


def test_task_config_override_through_make_vec():
    """docs/tasks.md: each task's config dataclass is overridable with ``task={...}`` in make_vec."""
    env = make(
        "SmpGetupG1-v0",
        num_envs=1,
        gsi={"init": "default"},
        task={"stand_hold_steps": 10, "smp_termination_threshold": None},
    )
    u = env.unwrapped
    assert u.task_cfg.stand_hold_steps == 10
    assert u.sim.termination_manager.get_term_cfg("stood_up").params["hold_steps"] == 10
    env.close()


def _contact_env(pairs, worlds, nacon, num_envs=3):
    """A stand-in for mjlab's env exposing only what ``self_collision`` reads: the G1 model and a
    solver contact list of (geom1, geom2) pairs, their worlds and the live count."""
    import types

    import mujoco
    from mjlab.asset_zoo.robots import get_g1_robot_cfg
    from mjlab.entity import Entity

    spec = mujoco.MjSpec()
    spec.worldbody.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=(5, 5, 0.1))
    frame = spec.worldbody.add_frame()
    frame.attach_body(Entity(get_g1_robot_cfg()).spec.body("pelvis"), "robot/", "")
    model = spec.compile()

    def geom_of(body):
        b = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
        return int(
            next(
                g for g in range(model.ngeom) if model.geom_bodyid[g] == b and model.geom_contype[g]
            )
        )

    geoms = [(geom_of(a) if a != "floor" else 0, geom_of(b)) for a, b in pairs] + [(-1, -1)] * 4
    contact = types.SimpleNamespace(
        geom=torch.tensor(geoms), worldid=torch.tensor(list(worlds) + [0] * 4)
    )
    sim = types.SimpleNamespace(
        mj_model=model, data=types.SimpleNamespace(contact=contact, nacon=torch.tensor([nacon]))
    )
    return types.SimpleNamespace(sim=sim, num_envs=num_envs, device=torch.device("cpu"))


def test_self_collision_ignores_hands_by_default_and_not_under_the_reference_rule():
    from smp_gym.config import SimCfg
    from smp_gym.sim.g1 import self_collision

    pairs = [
        ("robot/left_wrist_yaw_link", "robot/left_hip_roll_link"),  # world 0: hand on hip
        ("robot/left_knee_link", "robot/right_knee_link"),  # world 1: knees
        ("floor", "robot/left_ankle_roll_link"),  # world 2: a foot on the floor
        ("robot/left_elbow_link", "robot/torso_link"),
    ]  # world 2, but past nacon
    ours = self_collision(
        _contact_env(pairs, [0, 1, 2, 2], nacon=3), exclude=SimCfg().self_collision_exclude
    )
    reference = self_collision(_contact_env(pairs, [0, 1, 2, 2], nacon=3), exclude=())
    assert ours.tolist() == [False, True, False]
    assert reference.tolist() == [True, True, False]
    everything = self_collision(_contact_env(pairs, [0, 1, 2, 2], nacon=4), exclude=())
    assert everything.tolist() == [True, True, True]
