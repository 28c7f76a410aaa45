"""The Unitree G1 base scene of every SMP task (docs/reference.md#simulation) as an mjlab config.

Plane terrain; 0.005 s physics x 4 = 50 Hz control; joint-position PD actions around the
knees-bent pose; actor observations with noise, critic observations without noise and with a
10-step history; pushes and startup domain randomization; terminations on self-collision and
(optionally) a fallen pelvis. Rewards are **not** scaled by dt (``scale_rewards_by_dt=False``):
a task reward lies in [0, 1] per step, and so does ``task × r_smp``.
"""

from __future__ import annotations

import re

import mujoco
import torch
from mjlab.asset_zoo.robots import G1_ACTION_SCALE, get_g1_robot_cfg
from mjlab.asset_zoo.robots.unitree_g1.g1_constants import get_spec
from mjlab.envs import ManagerBasedRlEnvCfg
from mjlab.envs import mdp as envs_mdp
from mjlab.envs.mdp import dr
from mjlab.envs.mdp.actions import JointPositionActionCfg
from mjlab.managers.event_manager import EventTermCfg
from mjlab.managers.observation_manager import ObservationGroupCfg, ObservationTermCfg
from mjlab.managers.scene_entity_config import SceneEntityCfg
from mjlab.managers.termination_manager import TerminationTermCfg
from mjlab.scene import SceneCfg
from mjlab.sim import MujocoCfg, SimulationCfg
from mjlab.terrains import TerrainEntityCfg
from mjlab.utils.noise import UniformNoiseCfg as Unoise
from mjlab.viewer import ViewerConfig

from smp_gym.config import SimCfg

HEAD_SITE_POS = (0.0, 0.0, 0.43)  # the head_collision sphere's centre in torso_link


def spec_with_head() -> mujoco.MjSpec:
    """mjlab's G1 with a massless ``head`` site on torso_link."""
    spec = get_spec()
    torso = spec.body("torso_link")
    torso.add_site(name="head", pos=HEAD_SITE_POS, size=(0.01, 0.01, 0.01), group=4)
    return spec


def self_collision_geoms(model: mujoco.MjModel, exclude: tuple[str, ...], device) -> torch.Tensor:
    """Geoms whose contacts count as self-collision: those of robot bodies not matching any
    ``exclude`` regex (on the robot's local body names). Shape: [ngeom] bool."""
    counted = []
    for b in range(model.nbody):
        name = mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) or ""
        robot, _, local = name.partition("/")
        counted.append(robot == "robot" and not any(re.fullmatch(rx, local) for rx in exclude))
    counted_t = torch.tensor(counted, dtype=torch.bool)
    return counted_t[torch.as_tensor(model.geom_bodyid, dtype=torch.long)].to(device)


def self_collision_hits(env, counted: torch.Tensor) -> torch.Tensor:
    """Envs with a live solver contact between two ``counted`` geoms. Reads the contact list
    directly: tensor ops on the env's device, no host sync. Shape: [num_envs] bool."""
    if hasattr(env.sim, "contact_geom"):  # the native backend counts contacts per world
        from smp_gym.sim.native import self_contacts

        return self_contacts(env.sim, counted) > 0
    contact = env.sim.data.contact
    geom = contact.geom.long()
    live = torch.arange(geom.shape[0], device=geom.device) < env.sim.data.nacon.long()
    hit = live & counted[geom[:, 0].clamp_min(0)] & counted[geom[:, 1].clamp_min(0)]
    found = torch.zeros(env.num_envs, dtype=torch.int32, device=geom.device)
    found.index_add_(0, contact.worldid.long().clamp(0, env.num_envs - 1), hit.int())
    return found > 0


def self_collision(env, exclude: tuple[str, ...] = ()) -> torch.Tensor:
    """Terminate on a contact between two robot bodies, ignoring contacts that involve a body
    matching ``exclude`` (regexes on the robot's body names). One-off form (builds the geom mask
    each call); the termination term is :class:`SelfCollision`, which builds it once."""
    return self_collision_hits(env, self_collision_geoms(env.sim.mj_model, exclude, env.device))


class SelfCollision:
    """mjlab termination term (a class: mjlab instantiates it once with its cfg and env) that
    holds the geom mask of :func:`self_collision`, so no state is stored on mjlab's env."""

    def __init__(self, cfg: TerminationTermCfg, env) -> None:
        exclude = tuple(cfg.params.get("exclude", ()))
        self.counted = self_collision_geoms(env.sim.mj_model, exclude, env.device)

    def __call__(self, env, exclude: tuple[str, ...] = ()) -> torch.Tensor:
        return self_collision_hits(env, self.counted)


def base_cfg(
    sim: SimCfg,
    *,
    episode_length_s: float,
    min_base_height: float | None = 0.3,
    self_collision_termination: bool = True,
    head_site: bool = False,
) -> ManagerBasedRlEnvCfg:
    """A fresh mjlab config of the G1 base scene (no commands, rewards or reset events)."""
    robot = get_g1_robot_cfg()
    if head_site:
        robot.spec_fn = spec_with_head
    noise = sim.observation_noise

    def term(func, n: float | None = None, **params) -> ObservationTermCfg:
        return ObservationTermCfg(
            func=func, params=params, noise=Unoise(n_min=-n, n_max=n) if (n and noise) else None
        )

    actor = {
        "base_lin_vel": term(envs_mdp.builtin_sensor, 0.5, sensor_name="robot/imu_lin_vel"),
        "base_ang_vel": term(envs_mdp.builtin_sensor, 0.2, sensor_name="robot/imu_ang_vel"),
        "projected_gravity": term(envs_mdp.projected_gravity, 0.05),
        "joint_pos": term(envs_mdp.joint_pos_rel, 0.01),
        "joint_vel": term(envs_mdp.joint_vel_rel, 1.5),
        "actions": term(envs_mdp.last_action),
    }
    critic = {
        "base_lin_vel": term(envs_mdp.builtin_sensor, sensor_name="robot/imu_lin_vel"),
        "base_ang_vel": term(envs_mdp.builtin_sensor, sensor_name="robot/imu_ang_vel"),
        "projected_gravity": term(envs_mdp.projected_gravity),
        "joint_pos": term(envs_mdp.joint_pos_rel),
        "joint_vel": term(envs_mdp.joint_vel_rel),
        "actions": term(envs_mdp.last_action),
    }
    observations = {
        "actor": ObservationGroupCfg(terms=actor, concatenate_terms=True, enable_corruption=noise),
        "critic": ObservationGroupCfg(
            terms=critic,
            concatenate_terms=True,
            enable_corruption=False,
            history_length=sim.critic_history or None,
        ),
    }
    events: dict[str, EventTermCfg] = {}
    if sim.push_robot:
        events["push_robot"] = EventTermCfg(
            func=envs_mdp.push_by_setting_velocity,
            mode="interval",
            interval_range_s=(1.0, 3.0),
            params={
                "velocity_range": {
                    "x": (-0.5, 0.5),
                    "y": (-0.5, 0.5),
                    "z": (-0.4, 0.4),
                    "roll": (-0.52, 0.52),
                    "pitch": (-0.52, 0.52),
                    "yaw": (-0.78, 0.78),
                }
            },
        )
    if sim.domain_randomization:
        feet = tuple(f"{s}_foot{i}_collision" for s in ("left", "right") for i in range(1, 8))
        events["foot_friction"] = EventTermCfg(
            mode="startup",
            func=dr.geom_friction,
            params={
                "asset_cfg": SceneEntityCfg("robot", geom_names=feet),
                "operation": "abs",
                "ranges": (0.3, 1.2),
                "shared_random": True,
            },
        )
        events["encoder_bias"] = EventTermCfg(
            mode="startup",
            func=dr.encoder_bias,
            params={"asset_cfg": SceneEntityCfg("robot"), "bias_range": (-0.015, 0.015)},
        )
        events["base_com"] = EventTermCfg(
            mode="startup",
            func=dr.body_com_offset,
            params={
                "asset_cfg": SceneEntityCfg("robot", body_names=("torso_link",)),
                "operation": "add",
                "ranges": {0: (-0.025, 0.025), 1: (-0.025, 0.025), 2: (-0.03, 0.03)},
            },
        )
    terminations = {"time_out": TerminationTermCfg(func=envs_mdp.time_out, time_out=True)}
    if self_collision_termination:
        terminations["self_collision"] = TerminationTermCfg(
            func=SelfCollision, params={"exclude": tuple(sim.self_collision_exclude)}
        )
    if min_base_height is not None:
        terminations["base_too_low"] = TerminationTermCfg(
            func=envs_mdp.root_height_below_minimum, params={"minimum_height": min_base_height}
        )
    return ManagerBasedRlEnvCfg(
        scene=SceneCfg(
            terrain=TerrainEntityCfg(terrain_type="plane"),
            entities={"robot": robot},
            num_envs=1,
            extent=2.0,
        ),
        observations=observations,
        actions={
            "joint_pos": JointPositionActionCfg(
                entity_name="robot",
                actuator_names=(".*",),
                scale=G1_ACTION_SCALE,
                use_default_offset=True,
            )
        },
        events=events,
        terminations=terminations,
        sim=SimulationCfg(
            nconmax=35,
            njmax=1500,
            mujoco=MujocoCfg(timestep=0.005, iterations=10, ls_iterations=20),
        ),
        viewer=ViewerConfig(
            origin_type=ViewerConfig.OriginType.ASSET_BODY,
            entity_name="robot",
            body_name="torso_link",
            distance=3.0,
            elevation=-10.0,
            azimuth=135.0,
            width=sim.render_width,
            height=sim.render_height,
            max_extra_envs=0,
        ),
        decimation=4,
        episode_length_s=episode_length_s,
        auto_reset=False,
        scale_rewards_by_dt=False,
    )
