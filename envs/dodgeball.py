"""Dodgeball: avoid a ball thrown at the torso (MimicKit ``TaskDodgeballEnv``, commit 0faf85b).

One ball (radius 0.1 m, 0.4 kg) is a free-joint entity in the scene. Every 1-4 s (per-env
timer) it is launched from 8-10 m away at a uniform angle around the robot, 0.5-2.5 m high, at
12-15 m/s, at the torso (torso_link's centre of mass) led by ``flight time × torso velocity``
plus 0.1 m Gaussian aim noise.
The launch velocity solves the ballistic flight under gravity, so the ball reaches the aim
point after ``T = |torso - launch| / speed``. The ball collides with the robot only (an
``<exclude>`` with the ground): a missed ball falls through the floor and waits at rest
``park_depth`` below it until its relaunch, so observations stay bounded.

Command / observation (6, heading frame): the ball's position relative to the root and its
velocity. Reward ``0.9·(1 - exp(-0.3·|ball - root|)) + 0.1·exp(-|v_root,xy|²)``. A **hit**
(ball within 0.8 m of a robot body and either an xy contact force > 0.1 N in the step or a
velocity change beyond gravity > 1.5 m/s) ends the episode; a **dodge** is a flight that passes
its closest horizontal approach to the torso without a hit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import torch
from mjlab.entity import EntityCfg
from mjlab.managers.command_manager import CommandTerm, CommandTermCfg
from mjlab.managers.observation_manager import ObservationTermCfg
from mjlab.managers.reward_manager import RewardTermCfg
from mjlab.managers.termination_manager import TerminationTermCfg
from mjlab.sensor import ContactMatch, ContactSensorCfg
from torch import Tensor

from smp_gym.config import SimCfg
from smp_gym.envs.common import check_range, to_heading_frame
from smp_gym.errors import ConfigError
from smp_gym.sim.g1 import base_cfg
from smp_gym.task import Metric, TaskSpec

WEIGHTED_SUM_PRESET = {"mode": "weighted_sum", "task_weight": 1.2, "smp_weight": 0.6, "ws": 4.0}
"""The paper's Dodgeball weights (App. D): ``make_vec(id, reward=WEIGHTED_SUM_PRESET)``."""


# ------------------------------------------------------------------ pure math (tensors only)
def launch_velocity(
    launch_pos: Tensor,
    target_pos: Tensor,
    target_vel: Tensor,
    speed: Tensor,
    aim_noise: Tensor,
    gravity: Tensor,
) -> tuple[Tensor, Tensor]:
    """Ballistic launch at a moving target. Flight time ``T = |target - launch| / speed``; aim
    point ``target + T·target_vel + aim_noise``; velocity ``(aim - launch) / T - g·T/2``, so
    ``launch + v·T + g·T²/2 = aim``. Shapes: [N,3], [N,3], [N,3], [N], [N,3], [3] -> [N,3], [N]."""
    t = (target_pos - launch_pos).norm(dim=-1) / speed
    aim = target_pos + t[:, None] * target_vel + aim_noise
    return (aim - launch_pos) / t[:, None] - 0.5 * gravity * t[:, None], t


def velocity_change(v_now: Tensor, v_prev: Tensor, gravity: Tensor, dt: float) -> Tensor:
    """|v_now - v_prev - g·dt|: what changed the velocity besides gravity. [N,3] -> [N]."""
    return (v_now - v_prev - gravity * dt).norm(dim=-1)


def hit_rule(
    ball_pos: Tensor,
    body_pos: Tensor,
    force_xy: Tensor,
    dv: Tensor,
    *,
    near: float = 0.8,
    min_force: float = 0.1,
    min_dv: float = 1.5,
) -> Tensor:
    """Ball within ``near`` of any body AND (xy contact force > min_force OR dv > min_dv).
    Shapes: [N,3], [N,B,3], [N], [N] -> [N] bool."""
    close = (body_pos - ball_pos[:, None]).norm(dim=-1).amin(dim=-1) < near
    return close & ((force_xy > min_force) | (dv > min_dv))


def passed(ball_pos: Tensor, ball_vel: Tensor, torso_pos: Tensor) -> Tensor:
    """The ball moves away from the torso in the xy plane (closest approach behind it). [N] bool."""
    return ((ball_pos[:, :2] - torso_pos[:, :2]) * ball_vel[:, :2]).sum(-1) > 0


def distance_reward(dist: Tensor, scale: float = 0.3) -> Tensor:
    """1 - exp(-scale·dist). [N] -> [N]."""
    return 1.0 - torch.exp(-scale * dist)


def still_reward(vel_xy: Tensor) -> Tensor:
    """exp(-|v_xy|²). [N, 2] -> [N]."""
    return torch.exp(-vel_xy.square().sum(-1))


# ------------------------------------------------------------------ the ball in the scene
BALL_RADIUS, BALL_MASS, BALL_RGBA = 0.1, 0.4, (1.0, 0.35, 0.05, 1.0)


def ball_spec() -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    body = spec.worldbody.add_body(name="ball")
    body.add_freejoint(name="ball")
    body.add_geom(
        name="ball",
        type=mujoco.mjtGeom.mjGEOM_SPHERE,
        size=(BALL_RADIUS, 0, 0),
        mass=BALL_MASS,
        rgba=BALL_RGBA,
        condim=1,
    )
    return spec


def _exclude_ground(spec: mujoco.MjSpec) -> None:
    """The ball collides with the robot only, never with the ground plane."""
    spec.add_exclude(bodyname1="terrain", bodyname2="ball/ball")


class BallLauncher(CommandTerm):
    """Launches the ball on its timer, parks missed balls, and owns the flight's outcome.

    The hit/dodge state (``hit``, ``dodged``, ``resolved``) belongs to this object alone and is
    written in one place, :meth:`_update_flight`, once per env step: :meth:`flight` runs it for the
    first reader after the physics step (the hit termination, which mjlab evaluates every step, or
    a metric), whatever the order, and hands later readers of the same step the same tensors.

    The step path makes no host sync: the ball's free-joint addresses are Python slices (indexing
    with a 0-dim tensor address would call ``.item()``) and the launch quaternion is a device
    tensor built once.
    """

    cfg: BallLauncherCfg

    def __init__(self, cfg: BallLauncherCfg, env) -> None:
        super().__init__(cfg, env)
        self.task = cfg.task
        self.env, self.robot, self.ball = env, env.scene["robot"], env.scene["ball"]
        self.torso = self.robot.body_names.index("torso_link")
        self.q_adr = self.ball.data.indexing.free_joint_q_adr
        self.v_adr = self.ball.data.indexing.free_joint_v_adr
        self._q, self._v = _block(self.q_adr, 7, "qpos"), _block(self.v_adr, 6, "qvel")
        self.gravity = torch.tensor(
            env.sim.mj_model.opt.gravity, dtype=torch.float32, device=self.device
        )
        self._unit_quat = torch.tensor([1.0, 0.0, 0.0, 0.0], device=self.device)
        self.contact = env.scene.sensors["ball_contact"]
        z = lambda: torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)  # noqa: E731
        self.pending, self.resolved, self.hit, self.dodged = z(), z(), z(), z()
        self._flight_step = -1
        """The env step (mjlab's ``common_step_counter``) ``hit``/``dodged`` belong to."""
        self.prev_vel = torch.zeros(self.num_envs, 3, device=self.device)
        self._command = torch.zeros(self.num_envs, 6, device=self.device)

    @property
    def command(self) -> Tensor:
        return self._command

    def ball_state(self) -> tuple[Tensor, Tensor]:
        """World position and velocity [num_envs, 3] each, from qpos/qvel (fresh even right after
        a write). Views into the simulator's state: clone them to keep them across a write."""
        d, q, v = self.ball.data.data, self._q.start, self._v.start
        return d.qpos[:, q : q + 3], d.qvel[:, v : v + 3]

    def torso_state(self) -> tuple[Tensor, Tensor]:
        """The aim target: torso_link's centre of mass (chest height), world position and velocity."""
        d = self.robot.data
        return d.body_com_pos_w[:, self.torso], d.body_com_lin_vel_w[:, self.torso]

    def _resample_command(self, env_ids: Tensor) -> None:
        self.pending[env_ids] = True  # launched in _update_command, after forward(): fresh torso

    def _update_command(self, env_ids: Tensor | None) -> None:
        scope = torch.ones_like(self.pending) if env_ids is None else torch.zeros_like(self.pending)
        if env_ids is not None:
            scope[env_ids] = True
        self._launch(self.pending & scope)
        self.pending &= ~scope
        pos, vel = self.ball_state()
        floor = self.env.scene.env_origins[:, 2] - self.task.park_depth
        park = scope & (pos[:, 2] < floor)
        d = self.ball.data.data
        d.qpos[:, self._q.start + 2] = torch.where(park, floor, pos[:, 2])
        d.qvel[:, self._v] = torch.where(park[:, None], 0.0, d.qvel[:, self._v])
        pos, vel = self.ball_state()
        self.prev_vel = torch.where(scope[:, None], vel, self.prev_vel)
        h = self.robot.data.heading_w
        rel = pos - self.robot.data.root_link_pos_w
        self._command[:] = torch.cat(
            (
                to_heading_frame(rel[:, :2], h),
                rel[:, 2:],
                to_heading_frame(vel[:, :2], h),
                vel[:, 2:],
            ),
            dim=-1,
        )

    def _launch(self, mask: Tensor) -> None:
        """Launch the ball where ``mask`` (computed for every env, written where masked: no sync)."""
        n, dev, c = self.num_envs, self.device, self.task
        angle = torch.empty(n, device=dev).uniform_(-math.pi, math.pi)
        dist = torch.empty(n, device=dev).uniform_(*c.distance_range)
        start = torch.empty(n, 3, device=dev)
        start[:, :2] = self.robot.data.root_link_pos_w[:, :2] + dist[:, None] * torch.stack(
            (angle.cos(), angle.sin()), -1
        )
        start[:, 2] = self.env.scene.env_origins[:, 2] + torch.empty(n, device=dev).uniform_(
            *c.height_range
        )
        speed = torch.empty(n, device=dev).uniform_(*c.speed_range)
        noise = c.aim_noise * torch.randn(n, 3, device=dev)
        vel, _ = launch_velocity(start, *self.torso_state(), speed, noise, self.gravity)
        qpos = torch.cat((start, self._unit_quat.expand(n, 4)), dim=-1)
        d = self.ball.data.data
        d.qpos[:, self._q] = torch.where(mask[:, None], qpos, d.qpos[:, self._q])
        d.qvel[:, self._v] = torch.where(
            mask[:, None], torch.cat((vel, torch.zeros_like(vel)), -1), d.qvel[:, self._v]
        )
        self.resolved &= ~mask

    def flight(self) -> tuple[Tensor, Tensor]:
        """(hit, dodged) of this env step, [num_envs] bool each, from the physics just stepped.
        Computed on the first call of a step, the same tensors for every later call."""
        step = self.env.common_step_counter
        if step != self._flight_step:
            self._flight_step = step
            self._update_flight()
        return self.hit, self.dodged

    def _update_flight(self) -> None:
        """The one writer of ``hit``, ``dodged`` and ``resolved`` (a flight is resolved by its
        hit or dodge and counted once)."""
        pos, vel = self.ball_state()
        dv = velocity_change(vel, self.prev_vel, self.gravity, self.env.step_dt)
        force_xy = self.contact.data.force_history[..., :2].norm(dim=-1).flatten(1).amax(dim=1)
        c = self.task
        self.hit = hit_rule(
            pos,
            self.robot.data.body_link_pos_w,
            force_xy,
            dv,
            near=c.hit_distance,
            min_force=c.hit_force,
            min_dv=c.hit_velocity_change,
        )
        flying = (vel.norm(dim=-1) > 0) & ~self.resolved
        self.dodged = flying & ~self.hit & passed(pos, vel, self.torso_state()[0])
        self.resolved |= self.hit | self.dodged

    def _update_metrics(self) -> None:
        """Nothing: the task's metrics are declared in ``TASK.metrics``."""


def _block(adr: Tensor, size: int, what: str) -> slice:
    """A free joint's ``size`` consecutive ``what`` addresses as a Python slice (read once, at
    construction: indexing with it is a view, no per-step sync)."""
    first = int(adr[0])
    if adr.tolist() != list(range(first, first + size)):
        raise RuntimeError(
            f"dodgeball: the ball's free-joint {what} addresses {adr.tolist()} are not "
            f"{size} consecutive indices; this mjlab/MuJoCo version lays free joints out "
            "differently than the launcher assumes."
        )
    return slice(first, first + size)


@dataclass(kw_only=True)
class BallLauncherCfg(CommandTermCfg):
    task: DodgeballCfg
    """The task's settings: launch ranges, aim noise, parking depth and hit rule are declared
    once, in :class:`DodgeballCfg`, and read from it by the launcher."""

    def build(self, env) -> BallLauncher:
        return BallLauncher(self, env)


@dataclass(frozen=True, kw_only=True)
class DodgeballCfg:
    distance_range: tuple[float, float] = (8.0, 10.0)
    """Launch distance from the robot's root (m, horizontal)."""
    height_range: tuple[float, float] = (0.5, 2.5)
    """Launch height above the ground (m)."""
    speed_range: tuple[float, float] = (12.0, 15.0)
    """Sets the flight time ``T = distance to torso / speed`` (m/s; the paper used 20-25)."""
    aim_noise: float = 0.1
    """Std of the Gaussian aim error per axis (m)."""
    relaunch_range_s: tuple[float, float] = (1.0, 4.0)
    """Seconds between launches (per-env timer; the first launch is at reset)."""
    park_depth: float = 1.0
    """A missed ball waits at rest this far below the ground until its relaunch (m)."""
    hit_distance: float = 0.8
    hit_force: float = 0.1
    """xy contact force (N) between ball and robot that counts as a hit."""
    hit_velocity_change: float = 1.5
    """Ball velocity change beyond gravity in one step (m/s) that counts as a hit."""
    distance_weight: float = 0.9
    distance_scale: float = 0.3
    still_weight: float = 0.1

    def __post_init__(self) -> None:
        check_range("task.distance_range", self.distance_range, low=0.5)
        check_range("task.height_range", self.height_range, low=0.0)
        check_range("task.speed_range", self.speed_range, low=1e-3)
        check_range("task.relaunch_range_s", self.relaunch_range_s, low=0.0)
        for name in ("aim_noise", "park_depth", "hit_distance", "hit_force", "hit_velocity_change"):
            if getattr(self, name) < 0:
                raise ConfigError(f"task.{name}: received {getattr(self, name)}; must be >= 0.")


def ball_distance(env) -> Tensor:
    """|ball - root| (m). Shape: [num_envs]."""
    pos, _ = env.command_manager.get_term("ball").ball_state()
    return (pos - env.scene["robot"].data.root_link_pos_w).norm(dim=-1)


def far_from_ball(env, scale: float) -> Tensor:
    return distance_reward(ball_distance(env), scale)


def stand_still(env) -> Tensor:
    return still_reward(env.scene["robot"].data.root_link_lin_vel_w[:, :2])


def ball_hit(env) -> Tensor:
    """The hit termination: this step's hit (the launcher owns it, see ``BallLauncher.flight``)."""
    return env.command_manager.get_term("ball").flight()[0]


def _ball_obs(env) -> Tensor:
    return env.command_manager.get_command("ball")


def make_sim_cfg(task: DodgeballCfg, sim: SimCfg, episode_length_s: float):
    cfg = base_cfg(sim, episode_length_s=episode_length_s)
    cfg.scene.entities["ball"] = EntityCfg(
        spec_fn=ball_spec, init_state=EntityCfg.InitialStateCfg(pos=(0.0, 0.0, -task.park_depth))
    )
    cfg.scene.spec_fn = _exclude_ground
    cfg.scene.sensors = (
        *cfg.scene.sensors,
        ContactSensorCfg(
            name="ball_contact",
            primary=ContactMatch(mode="body", pattern="ball", entity="ball"),
            secondary=ContactMatch(mode="subtree", pattern="pelvis", entity="robot"),
            fields=("force",),
            reduce="netforce",
            history_length=cfg.decimation,
        ),
    )
    cfg.commands["ball"] = BallLauncherCfg(
        resampling_time_range=tuple(task.relaunch_range_s), task=task
    )
    for group in cfg.observations.values():
        group.terms["command"] = ObservationTermCfg(func=_ball_obs)
    cfg.rewards = {
        "distance": RewardTermCfg(
            func=far_from_ball, weight=task.distance_weight, params={"scale": task.distance_scale}
        ),
        "still": RewardTermCfg(func=stand_still, weight=task.still_weight),
    }
    cfg.terminations["hit"] = TerminationTermCfg(func=ball_hit)
    cfg.viewer.distance, cfg.viewer.elevation = 7.0, -15.0  # wide enough to see the ball come
    return cfg


def hit_metric(env) -> Tensor:
    """1 on the step the ball hits the robot (the step's end is a hit)."""
    return env.command_manager.get_term("ball").flight()[0].float()


def dodge_metric(env) -> Tensor:
    """1 on the step a ball passes the torso without a hit."""
    return env.command_manager.get_term("ball").flight()[1].float()


TASK = TaskSpec(
    cfg_type=DodgeballCfg,
    make_sim_cfg=make_sim_cfg,
    metrics=(
        Metric(name="hit", fn=hit_metric, reduce="max", label="hit", lower_is_better=True),
        Metric(name="dodges", fn=dodge_metric, reduce="sum", label="balls dodged"),
        Metric(name="ball_distance", fn=ball_distance, label="ball distance", unit="m"),
    ),
)
