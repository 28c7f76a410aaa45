"""Reading motion frames out of mjlab and writing start states into it.

Positions are env-local: the env origin is subtracted on read and added on write, so the
features never depend on where an env sits in the scene grid.
"""

from __future__ import annotations

import torch
from torch import Tensor

from smp_gym.motion.features import Frames, InitState
from smp_gym.motion.layout import FeatureLayout


class FrameReader:
    """Reads the layout's kinematic frame from an mjlab env. Shape: [num_envs] Frames."""

    def __init__(self, env, layout: FeatureLayout, entity: str = "robot") -> None:
        self.robot = env.scene[entity]
        self.origins = env.scene.env_origins
        self.ee_ids = torch.tensor(
            [self.robot.body_names.index(n) for n in layout.ee_body_names], device=env.device
        )
        self.joint_ids = torch.tensor(
            [self.robot.joint_names.index(n) for n in layout.joint_names], device=env.device
        )
        self._identity_joints = bool(
            (self.joint_ids == torch.arange(len(self.joint_ids), device=env.device)).all()
        )

    def __call__(self) -> Frames:
        d = self.robot.data
        jp = d.joint_pos if self._identity_joints else d.joint_pos[:, self.joint_ids]
        return Frames(
            root_pos_w=d.root_link_pos_w - self.origins,
            root_quat_w=d.root_link_quat_w,
            root_lin_vel_w=d.root_link_lin_vel_w,
            root_ang_vel_w=d.root_link_ang_vel_w,
            ee_pos_w=d.body_link_pos_w[:, self.ee_ids] - self.origins[:, None, :],
            joint_pos=jp,
        )


def write_init_state(
    env, env_ids: Tensor, state: InitState, joint_ids: Tensor, entity: str = "robot"
) -> None:
    """Write root pose/velocity and joint state for ``env_ids`` (joint positions clamped to the
    joint limits). Velocities are world frame; mjlab converts the angular part for qvel."""
    robot = env.scene[entity]
    pos = state.root_pos_w + env.scene.env_origins[env_ids]
    robot.write_root_link_pose_to_sim(torch.cat((pos, state.root_quat_w), dim=-1), env_ids=env_ids)
    robot.write_root_link_velocity_to_sim(
        torch.cat((state.root_lin_vel_w, state.root_ang_vel_w), dim=-1), env_ids=env_ids
    )
    limits = robot.data.joint_pos_limits[env_ids][:, joint_ids]
    jp = torch.clamp(state.joint_pos, limits[..., 0], limits[..., 1])
    robot.write_joint_state_to_sim(jp, state.joint_vel, joint_ids=joint_ids, env_ids=env_ids)


def root_pos_from_qpos(robot) -> Tensor:
    """Root position straight from qpos: valid right after a reset write, before forward()."""
    return robot.data.data.qpos[:, robot.data.indexing.free_joint_q_adr[:3]]


def nonfinite_state(env) -> Tensor:
    """Envs whose qpos or qvel hold NaN/inf (a simulation blow-up). Shape: [num_envs] bool."""
    data = env.sim.data
    return ~(torch.isfinite(data.qpos).all(dim=-1) & torch.isfinite(data.qvel).all(dim=-1))


def action_bounds(env, term: str = "joint_pos") -> tuple[Tensor, Tensor]:
    """Per-joint action bounds that map PD targets onto the joint ranges (finite, for SB3 & co).

    target = offset + scale · a, so a ∈ [(q_min - offset) / scale, (q_max - offset) / scale].
    """
    action = env.action_manager.get_term(term)
    robot = env.scene["robot"]
    ids, _ = robot.find_joints_by_actuator_names((".*",))
    limits = robot.data.joint_pos_limits[0, ids]
    offset = action.offset[0] if isinstance(action.offset, Tensor) else action.offset
    scale = action.scale[0] if isinstance(action.scale, Tensor) else action.scale
    low = (limits[:, 0] - offset) / scale
    high = (limits[:, 1] - offset) / scale
    return torch.minimum(low, high), torch.maximum(low, high)


class StartStateWriter:
    """The simulator's last reset event: writes the start state drawn for this reset. Built
    before the simulator (its event list is fixed at construction) and bound to the env's
    ``StartStates`` and joint order once the simulator exists (:meth:`bind`)."""

    def __init__(self) -> None:
        self.start_states = None
        self.joint_ids: Tensor | None = None
        self.staged: tuple[Tensor, object] | None = None

    def bind(self, start_states, joint_ids: Tensor) -> None:
        self.start_states, self.joint_ids = start_states, joint_ids

    def event(self):
        """The reset event function (a plain function: mjlab deep-copies event configs, and a
        function copies as itself)."""

        def write_start_state(sim, env_ids: Tensor | None) -> None:
            self(sim, env_ids)

        return write_start_state

    def __call__(self, env, env_ids: Tensor | None) -> None:
        if env_ids is None:
            env_ids = torch.arange(env.num_envs, device=env.device)
        staged = self.staged
        if staged is None or staged[0] is not env_ids:  # a reset we did not start: draw here
            staged = (env_ids, self.start_states.sample(env_ids))
        write_init_state(env, env_ids, staged[1].state, self.joint_ids)
