"""The native backend (MuJoCo C) behaves as MuJoCo Warp (issue 16; tolerances: docs/backends.md).

Both backends run the same mjlab task layer; the envs are built with the same seed and every
call that draws from torch's global generator (mjlab's events, observation noise) is made from
the same generator state on both, so physics is the only difference.
"""

from __future__ import annotations

import gymnasium
import pytest
import torch

from smp_gym.errors import ConfigError
from smp_gym.registry import TASKS
from tests.sim.conftest import SMALL_GSI

pytestmark = [pytest.mark.sim, pytest.mark.parity]

IDS = sorted(TASKS)
ROOT_FLOOR = 1e-5
"""m. Agreement at float32 resolution: float32 rounds a ~1 m root position to 6e-8 m, and Warp
rounds at each of the 100 substeps of 25 env steps: 100 x 6e-8 = 6e-6 m if every rounding adds
up. Measured while the two agree: <= 2.4e-7 m."""
JOINT_FLOOR = 1e-4
"""rad. The same for joints, whose light distal links amplify rounding ~10x through the PD
gains: 10 x 6e-6 = 6e-5 rad. Measured while the two agree: <= 4.7e-7 rad."""
ROOT_TOL = 2e-3
"""m. Once a contact or constraint event resolves differently in Warp's float32 solver (a
discrete jump: joints 3e-7 -> 3e-4 rad from one env step to the next), the trajectories part;
over 25 env steps of random actions the root stayed within 8.9e-4 m (seeds 1 and 2,
docs/backends.md). Tolerance: that envelope, rounded up 2x."""
JOINT_TOL = 0.1
"""rad. The same envelope for joints: 0.041 rad measured, rounded up 2x."""


def make(env_id: str, backend: str, num_envs: int = 2, **overrides):
    overrides.setdefault("gsi", SMALL_GSI)
    return gymnasium.make_vec(
        env_id, num_envs=num_envs, device="cpu", backend=backend, seed=0, **overrides
    )


def lockstep(envs: dict, fn) -> dict:
    """``fn(env)`` for every env, each from the same state of torch's global generator."""
    state, out = torch.get_rng_state(), {}
    for name, env in envs.items():
        torch.set_rng_state(state)
        out[name] = fn(env)
    return out


def data(env):
    return env.unwrapped.sim.sim.data


def contacts(env) -> torch.Tensor:
    """Contacts per world: the native backend counts them itself; Warp keeps one shared pool."""
    sim = env.unwrapped.sim.sim
    if hasattr(sim, "ncon"):
        return sim.ncon.long()
    k = int(sim.data.nacon[0])
    return torch.bincount(sim.data.contact.worldid[:k].long(), minlength=env.num_envs)


def trajectories(steps: int = 25, seed: int = 1):
    """Root position, joint positions and contact counts per env step on warp, native and
    native with its state rounded to float32 every substep. Returns ({name: [T] tuples},
    start qpos per name)."""
    envs = {"warp": make("SmpSteeringG1-v0", "warp")}
    envs["native"] = make("SmpSteeringG1-v0", "native")
    envs["float32"] = make("SmpSteeringG1-v0", "native")
    envs["float32"].unwrapped.sim.sim.float32_state = True
    lockstep(envs, lambda e: e.reset(seed=0))
    start = {k: data(e).qpos.clone() for k, e in envs.items()}
    g = torch.Generator().manual_seed(seed)
    rows = {k: [] for k in envs}
    for _ in range(steps):
        action = 0.3 * torch.randn(2, 29, generator=g)
        lockstep(envs, lambda e, a=action: e.step(a))
        for k, e in envs.items():
            q = data(e).qpos
            rows[k].append((q[:, :3].clone(), q[:, 7:].clone(), contacts(e)))
    close(envs)
    return rows, start


def test_same_start_and_actions_give_the_same_trajectory_for_25_steps():
    rows, start = trajectories()
    assert torch.equal(start["warp"], start["native"])
    agreeing = True
    leading = 0
    for t, (w, n, f) in enumerate(zip(rows["warp"], rows["native"], rows["float32"], strict=True)):
        # float32 storage alone keeps the native trajectory at float32 resolution
        assert (n[0] - f[0]).abs().max() <= ROOT_FLOOR, t
        assert (n[1] - f[1]).abs().max() <= JOINT_FLOOR, t
        root, joint = (w[0] - n[0]).abs().max().item(), (w[1] - n[1]).abs().max().item()
        assert root <= ROOT_TOL and joint <= JOINT_TOL, (t, root, joint)
        agreeing = agreeing and root <= ROOT_FLOOR and joint <= JOINT_FLOOR
        if agreeing:  # the same motion: the same contacts, world by world
            assert torch.equal(w[2], n[2]), (t, w[2], n[2])
            leading += 1
    assert leading >= 10  # this seed agrees at float32 resolution for its first 12 steps
    assert (rows["native"][-1][0] - rows["native"][0][0]).abs().max() > 0.01  # it moved


def metric(info: dict, name: str) -> torch.Tensor:
    """A task metric from the step info (flat ``metric_<name>`` per the info contract)."""
    return info[f"metric_{name}"] if f"metric_{name}" in info else info["metrics"][name]


def close(envs: dict) -> None:
    for e in envs.values():
        e.close()


def assert_close(signals: dict, name: str, atol: float) -> None:
    w, n = signals["warp"], signals["native"]
    assert torch.allclose(w, n, atol=atol, rtol=0), (name, (w - n).abs().max())


OBS_ATOL = 1e-3
"""Observations after one env step: joint velocities are the least precise entries (float32
physics vs float64: measured 1.6e-5 rad/s through the first env steps); 60x margin."""
SIGNAL_ATOL = 1e-4
"""Rewards (task, r_smp, total) and SDS error after one env step from a written state."""


def write(env, lift: float = 0.0, margin: float = 0.02) -> None:
    """Lift every robot ``lift`` m (no contacts, so no contact event can decide between
    float32 and float64) and pull its joints ``margin`` rad inside their limits (a start state
    clamped onto a limit leaves to rounding whether the limit constraint is active)."""
    robot = env.unwrapped.sim.scene["robot"]
    lim, idx = robot.data.joint_pos_limits[0], robot.data.indexing
    qpos = data(env).qpos
    qpos[:, idx.free_joint_q_adr[2]] += lift
    joints = qpos[:, idx.joint_q_adr].clamp(lim[:, 0] + margin, lim[:, 1] - margin)
    qpos[:, idx.joint_q_adr] = joints


def fall_and_cross(env) -> None:
    """Env 0 lies on its back at 0.15 m (base_too_low); env 1 floats with crossed legs
    (a self-collision: hip rolls 0.5 rad inwards)."""
    robot = env.unwrapped.sim.scene["robot"]
    qpos, names = data(env).qpos, robot.joint_names
    root, joint = robot.data.indexing.free_joint_q_adr, robot.data.indexing.joint_q_adr
    qpos[0, root[2]] = 0.15
    qpos[0, root[3:7]] = torch.tensor([0.7071068, 0.0, -0.7071068, 0.0])
    qpos[1, root[2]] += 0.5
    qpos[1, joint[names.index("left_hip_roll_joint")]] = -0.5
    qpos[1, joint[names.index("right_hip_roll_joint")]] = 0.5
    data(env).qvel[:, robot.data.indexing.free_joint_v_adr] = 0.0
    data(env).qvel[:, robot.data.indexing.joint_v_adr] = 0.0


@pytest.mark.parametrize("env_id", IDS)
def test_written_states_give_the_same_observations_rewards_features_and_terminations(env_id):
    envs = {b: make(env_id, b) for b in ("warp", "native")}
    obs = lockstep(envs, lambda e: e.reset(seed=0)[0])
    assert torch.equal(data(envs["warp"]).qpos, data(envs["native"]).qpos)  # the written state
    assert_close(obs, "reset obs", 1e-5)  # forward() of the same state: float32 vs float64
    assert_close({k: e.unwrapped.state() for k, e in envs.items()}, "reset state", 1e-5)
    features = {k: e.unwrapped.window.features().clone() for k, e in envs.items()}
    assert_close(features, "SMP features", 1e-5)
    for e in envs.values():
        write(e, lift=0.5)
    action = 0.2 * torch.ones(2, 29)
    out = lockstep(envs, lambda e: e.step(action))
    assert_close({k: o[0] for k, o in out.items()}, "obs", OBS_ATOL)
    assert_close({k: o[1] for k, o in out.items()}, "reward", SIGNAL_ATOL)
    for key in ("task_reward", "smp_reward", "sds_error"):
        assert_close({k: o[4][key] for k, o in out.items()}, key, SIGNAL_ATOL)
    features = {k: e.unwrapped.window.features().clone() for k, e in envs.items()}
    assert_close(features, "SMP features", OBS_ATOL)
    for key in (2, 3):  # terminated, truncated
        assert torch.equal(out["warp"][key], out["native"][key])
    for e in envs.values():
        fall_and_cross(e)
    out = lockstep(envs, lambda e: e.step(action))
    terms = envs["warp"].unwrapped.sim.termination_manager.active_terms
    assert torch.equal(out["warp"][2], out["native"][2])
    assert out["native"][2][0] == ("base_too_low" in terms)
    close(envs)


def test_contacts_and_self_collisions_are_counted_per_world_as_on_warp():
    from smp_gym.sim.g1 import self_collision

    # one thread steps both worlds on one MjData: what one world leaves there must not leak
    overrides = {"gsi": {"init": "default"}, "num_threads": 1}
    envs = {b: make("SmpSteeringG1-v0", b, **overrides) for b in ("warp", "native")}
    lockstep(envs, lambda e: e.reset(seed=0))
    lockstep(envs, lambda e: e.step(0.3 * torch.ones(2, 29)))
    sim = envs["native"].unwrapped.sim.sim
    kept = (sim.data.qacc.clone(), sim.data.actuator_force.clone(), sim.ncon.clone())
    sim.light_forward()  # no solver, no collision: each world keeps its own of these
    assert torch.equal(sim.data.qacc, kept[0]) and torch.equal(sim.data.actuator_force, kept[1])
    assert torch.equal(sim.ncon, kept[2])
    found = {}
    for k, e in envs.items():
        fall_and_cross(e)  # env 1: crossed legs in the air
        e.unwrapped.sim.sim.forward()  # collision detection on the written state
        found[k] = self_collision(e.unwrapped.sim, exclude=(r".*_wrist_.*_link",))
    assert found["warp"].tolist() == found["native"].tolist() == [False, True]
    assert torch.equal(contacts(envs["warp"]), contacts(envs["native"]))
    assert contacts(envs["native"])[1] > 0  # the crossed legs touch
    close(envs)


def test_a_nan_written_through_the_task_layer_is_handled_as_on_warp():
    envs = {b: make("SmpSteeringG1-v0", b, num_envs=3) for b in ("warp", "native")}
    lockstep(envs, lambda e: e.reset(seed=0))
    for _ in range(2):
        lockstep(envs, lambda e: e.step(torch.zeros(3, 29)))
    for e in envs.values():
        data(e).qvel[1, 6:] = float("nan")  # env 1 blows up
    out = lockstep(envs, lambda e: e.step(torch.zeros(3, 29)))
    for _, (obs, reward, terminated, _, info) in out.items():
        assert info["nonfinite"].tolist() == [False, True, False]
        assert terminated[1] and reward[1] == 0.0 and torch.isfinite(obs).all()
    for e in envs.values():
        assert torch.isfinite(data(e).qpos).all() and torch.isfinite(data(e).qvel).all()
    assert_close({k: o[0] for k, o in out.items()}, "obs after the reset", OBS_ATOL)
    close(envs)


def test_the_documented_toy_task_runs_the_same_on_both_backends(toy_id):
    envs = {b: make(toy_id, b) for b in ("warp", "native")}
    lockstep(envs, lambda e: e.reset(seed=0))
    for _ in range(3):
        out = lockstep(envs, lambda e: e.step(torch.zeros(2, 29)))
        assert_close({k: o[1] for k, o in out.items()}, "reward", SIGNAL_ATOL)
        speed = {k: metric(o[4], "speed") for k, o in out.items()}
        assert_close(speed, "speed", 1e-4)
    close(envs)


def test_backend_choices_are_checked():
    with pytest.raises(ConfigError, match=r"backend: received 'mjx'.*\['warp', 'native'\]"):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=1, device="cpu", backend="mjx")
    with pytest.raises(ConfigError, match=r"backend='native' runs MuJoCo C.*'cuda'.*'warp'"):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=1, device="cuda", backend="native")
    with pytest.raises(ConfigError, match="num_threads: received 0"):
        gymnasium.make_vec("SmpSteeringG1-v0", num_envs=1, backend="native", num_threads=0)


def test_what_needs_mujoco_warp_is_refused_by_name():
    import mujoco
    from mjlab.envs.mdp.actions import DifferentialIKActionCfg
    from mjlab.sim import SimulationCfg

    from smp_gym.config import SimCfg
    from smp_gym.sim.g1 import base_cfg
    from smp_gym.sim.mjlab_bridge import make_mjlab_env
    from smp_gym.sim.native import NativeSimulation

    cfg = base_cfg(SimCfg(), episode_length_s=1.0)
    cfg.actions["ik"] = DifferentialIKActionCfg(
        entity_name="robot", actuator_names=(".*",), frame_name="torso_link"
    )
    with pytest.raises(ConfigError, match="differential IK.*use backend='warp'"):
        make_mjlab_env(cfg, "cpu", None, False, backend="native")
    model = mujoco.MjModel.from_xml_string(
        "<mujoco><worldbody><body><freejoint/><geom size='.1'/></body></worldbody></mujoco>"
    )
    sim = NativeSimulation(1, SimulationCfg(), model, "cpu")
    with pytest.raises(ConfigError, match="cameras or raycast.*use backend='warp'"):
        sim.set_sensor_context(object())
    with pytest.raises(ConfigError, match="variant scenes.*use backend='warp'"):
        NativeSimulation(1, SimulationCfg(), model, "cpu", variant_info=[("robot", object())])
