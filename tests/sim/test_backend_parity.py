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
"""m. float32 rounds a ~1 m root position to 6e-8 m; Warp rounds the state at each of the 100
substeps of 25 env steps: 100 x 6e-8 = 6e-6 m worst case if every rounding adds up."""
JOINT_FLOOR = 1e-4
"""rad. Joints see ~10x the root's float32 error: the PD gains turn position rounding into
torque, and light distal links (ankles, wrists) accelerate it the most (measured: 3.6e-7 rad
while the root agrees to 1.2e-7 m)."""
CHAOS = 10.0
"""Where contacts make the motion chaotic, Warp may diverge from native no more than CHAOS
times as far as two native runs whose start velocities differ by 1e-6 (float32's resolution of
a ~10 m/s velocity): float32 physics must look like a nudge of the float64 trajectory."""


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
    native nudged by 1e-6 m/s. Returns ({name: [T] tuples}, start qpos per name)."""
    envs = {"warp": make("SmpSteeringG1-v0", "warp")}
    envs["native"] = make("SmpSteeringG1-v0", "native")
    envs["nudged"] = make("SmpSteeringG1-v0", "native")
    lockstep(envs, lambda e: e.reset(seed=0))
    start = {k: data(e).qpos.clone() for k, e in envs.items()}
    envs["nudged"].unwrapped.sim.sim.float32_state = True
    g = torch.Generator().manual_seed(seed)
    rows = {k: [] for k in envs}
    for _ in range(steps):
        action = 0.3 * torch.randn(2, 29, generator=g)
        lockstep(envs, lambda e, a=action: e.step(a))
        for k, e in envs.items():
            q = data(e).qpos
            rows[k].append((q[:, :3].clone(), q[:, 7:].clone(), contacts(e)))
    for e in envs.values():
        e.close()
    return rows, start


def test_same_start_and_actions_give_the_same_trajectory_for_25_steps():
    rows, start = trajectories()
    assert torch.equal(start["warp"], start["native"])
    agreed, base_root, base_joint = 0, 0.0, 0.0
    for t, (w, n, z) in enumerate(zip(rows["warp"], rows["native"], rows["nudged"], strict=True)):
        base_root = max(base_root, (n[0] - z[0]).abs().max().item())
        base_joint = max(base_joint, (n[1] - z[1]).abs().max().item())
        root, joint = (w[0] - n[0]).abs().max().item(), (w[1] - n[1]).abs().max().item()
        assert root <= max(ROOT_FLOOR, CHAOS * base_root), (t, root, base_root)
        assert joint <= max(JOINT_FLOOR, CHAOS * base_joint), (t, joint, base_joint)
        if root <= ROOT_FLOOR and joint <= JOINT_FLOOR:  # the same motion: the same contacts
            assert torch.equal(w[2], n[2]), (t, w[2], n[2])
            agreed += 1
    assert agreed >= 10  # the contact comparison ran on real steps
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


@pytest.mark.parametrize("env_id", IDS)
def test_written_states_give_the_same_observations_rewards_features_and_terminations(env_id):
    envs = {b: make(env_id, b) for b in ("warp", "native")}
    obs = lockstep(envs, lambda e: e.reset(seed=0)[0])
    assert torch.equal(data(envs["warp"]).qpos, data(envs["native"]).qpos)  # the written state
    assert_close(obs, "reset obs", 1e-5)  # forward() of the same state: float32 vs float64
    assert_close({k: e.unwrapped.state() for k, e in envs.items()}, "reset state", 1e-5)
    features = {k: e.unwrapped.window.features().clone() for k, e in envs.items()}
    assert_close(features, "SMP features", 1e-5)
    for e in envs.values():  # env 0 sinks to 0.2 m: base_too_low where the task terminates on it
        e.unwrapped.sim.scene["robot"].data.data.qpos[0, 2] = 0.2
    action = 0.2 * torch.ones(2, 29)
    out = lockstep(envs, lambda e: e.step(action))
    assert_close({k: o[0] for k, o in out.items()}, "obs", OBS_ATOL)
    assert_close({k: o[1] for k, o in out.items()}, "reward", SIGNAL_ATOL)
    for key in ("task_reward", "smp_reward", "sds_error"):
        assert_close({k: o[4][key] for k, o in out.items()}, key, SIGNAL_ATOL)
    assert torch.equal(out["warp"][2], out["native"][2])  # terminated
    assert torch.equal(out["warp"][3], out["native"][3])  # truncated
    low = envs["warp"].unwrapped.sim.termination_manager.active_terms
    assert out["native"][2][0] == ("base_too_low" in low)
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


def test_the_documented_toy_task_runs_the_same_on_both_backends(monkeypatch):
    from smp_gym.registry import TaskInfo, register

    monkeypatch.setattr("smp_gym.registry.TASKS", dict(TASKS))
    register(
        TaskInfo(
            id="SmpToyStillG1-v0",
            name="toy_still",
            module="tests.sim.toy_task",
            description="Stand still.",
            default_prior="locomotion",
            episode_length_s=0.2,
        )
    )
    try:
        envs = {b: make("SmpToyStillG1-v0", b) for b in ("warp", "native")}
        lockstep(envs, lambda e: e.reset(seed=0))
        for _ in range(3):
            out = lockstep(envs, lambda e: e.step(torch.zeros(2, 29)))
            assert_close({k: o[1] for k, o in out.items()}, "reward", SIGNAL_ATOL)
            speed = {k: metric(o[4], "speed") for k, o in out.items()}
            assert_close(speed, "speed", 1e-4)
        close(envs)
    finally:
        gymnasium.registry.pop("SmpToyStillG1-v0", None)


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
    from smp_gym.sim.native import NativeSimulation, make_native_env

    cfg = base_cfg(SimCfg(), episode_length_s=1.0)
    cfg.actions["ik"] = DifferentialIKActionCfg(
        entity_name="robot", actuator_names=(".*",), frame_name="torso_link"
    )
    with pytest.raises(ConfigError, match="differential IK.*use backend='warp'"):
        make_native_env(cfg, "cpu", None, None)
    model = mujoco.MjModel.from_xml_string(
        "<mujoco><worldbody><body><freejoint/><geom size='.1'/></body></worldbody></mujoco>"
    )
    sim = NativeSimulation(1, SimulationCfg(), model, "cpu")
    with pytest.raises(ConfigError, match="cameras or raycast.*use backend='warp'"):
        sim.set_sensor_context(object())
    with pytest.raises(ConfigError, match="variant scenes.*use backend='warp'"):
        NativeSimulation(1, SimulationCfg(), model, "cpu", variant_info=[("robot", object())])
