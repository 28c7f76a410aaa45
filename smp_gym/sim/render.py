"""``SmpVectorEnv.render()``: one lazily rendered frame per env, as Gymnasium's vector contract has it.

``render()`` returns a :class:`Frames` sequence: ``len(frames) == num_envs`` and ``frames[i]``
renders env ``i`` (H, W, 3 uint8) with a camera that follows env ``i``'s robot. Nothing is drawn
until an item is read, so ``render()`` on 4096 envs costs one copy of the MuJoCo state
(``qpos``/``qvel``/``mocap``, kept on the device), and ``RecordVideo(record_first_only=True)``
draws one frame a step. The frames show the state of the ``render()`` call, whenever they are read.

Each frame is MuJoCo's offscreen render of a host copy of the model (the env's state copied in,
``mj_forward``, a tracking camera: mjlab's ``OffscreenRenderer`` recipe, one env at a time). Without
an OpenGL backend (``MUJOCO_GL=disable``, or a context that fails to open) it draws the robot's
bodies as a stick figure from the same host kinematics and warns once (``RenderCfg.no_gl =
"skeleton"``, the default, as ``smp-gym play`` does), or raises (``no_gl="error"``).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Sequence

import mujoco
import numpy as np

from smp_gym.config import RenderCfg
from smp_gym.sim.skeleton import SkeletonRenderer

NO_GL = (
    "no OpenGL backend for MuJoCo's offscreen renderer ({why}). Set MUJOCO_GL before mujoco is "
    "imported: 'egl' on an NVIDIA GPU machine, 'osmesa' on a CPU one (apt-get install libosmesa6); "
    "smp_gym.tools.render.configure_gl() picks one."
)
_GL_OFF = ("disable", "disabled", "off", "false", "0")


class EnvRenderer:
    """Renders single envs of an mjlab ``ManagerBasedRlEnv`` (``sim``), camera on ``cfg.body``."""

    def __init__(self, sim, cfg: RenderCfg, width: int, height: int) -> None:
        viewer = sim.cfg.viewer  # the task's camera defaults (e.g. Dodgeball stands further back)
        self.cfg, self.width, self.height = cfg, width, height
        self._sim = sim
        self.model = copy.copy(sim.sim.mj_model)
        self.model.vis.global_.offwidth, self.model.vis.global_.offheight = width, height
        self.model.stat.extent = max(4.0, 1.5 * (cfg.distance or viewer.distance))
        self.data = mujoco.MjData(self.model)
        robot = sim.scene["robot"]
        body = cfg.body or viewer.body_name or robot.body_names[0]
        if body not in robot.body_names:
            from smp_gym.errors import ConfigError

            raise ConfigError(
                f"render.body: received {body!r}; the robot's bodies are {robot.body_names}."
            )
        self.body_id = robot.indexing.bodies[robot.find_bodies(body)[0][0]].id
        self.camera = mujoco.MjvCamera()
        mujoco.mjv_defaultFreeCamera(self.model, self.camera)
        self.camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING.value
        self.camera.trackbodyid = self.body_id
        self.camera.distance = cfg.distance or viewer.distance
        self.camera.elevation = cfg.elevation if cfg.elevation is not None else viewer.elevation
        self.camera.azimuth = cfg.azimuth if cfg.azimuth is not None else viewer.azimuth
        self._robot_bodies = [int(b) for b in robot.data.indexing.body_ids.tolist()]
        self._gl: mujoco.Renderer | None = None
        self._skeleton: SkeletonRenderer | None = None

    def snapshot(self) -> Frames:
        """The lazy frames of the current state (device copies, no host sync)."""
        d = self._sim.sim.data
        state = {"qpos": d.qpos.clone(), "qvel": d.qvel.clone()}
        if self.model.nmocap:
            state["mocap_pos"], state["mocap_quat"] = d.mocap_pos.clone(), d.mocap_quat.clone()
        return Frames(self, state, self._sim.num_envs)

    def draw(self, state: dict, env: int) -> np.ndarray:
        """Env ``env`` of ``state`` as an RGB frame. Shape: [height, width, 3] uint8."""
        for name, value in state.items():
            getattr(self.data, name)[:] = value[env].cpu().numpy()
        mujoco.mj_forward(self.model, self.data)
        gl = self._renderer()
        if gl is not None:
            gl.update_scene(self.data, camera=self.camera)
            return gl.render().copy()
        return self._skeleton.render(self.data.xpos[self._robot_bodies].copy())

    def _renderer(self) -> mujoco.Renderer | None:
        """MuJoCo's renderer, opened on first use; None when drawing stick figures."""
        if self._gl is not None or self._skeleton is not None:
            return self._gl
        why = None
        if os.environ.get("MUJOCO_GL", "").strip().lower() in _GL_OFF:
            why = f"MUJOCO_GL={os.environ['MUJOCO_GL']}"
        else:
            try:
                self._gl = mujoco.Renderer(self.model, height=self.height, width=self.width)
                return self._gl
            except Exception as err:  # noqa: BLE001 - GL backends fail in assorted ways
                why = f"{type(err).__name__}: {err}"
        if self.cfg.no_gl == "error":
            raise RuntimeError(NO_GL.format(why=why) + " Or set render={'no_gl': 'skeleton'}.")
        warnings.warn(
            NO_GL.format(why=why) + " Drawing stick figures instead (render.no_gl='skeleton').",
            RuntimeWarning,
            stacklevel=4,
        )
        parents = [int(self.model.body_parentid[b]) for b in self._robot_bodies]
        ids = self._robot_bodies
        self._skeleton = SkeletonRenderer(
            [ids.index(p) if p in ids else -1 for p in parents], self.width, self.height
        )
        return None

    def close(self) -> None:
        if self._gl is not None:
            self._gl.close()
            self._gl = None
        if self._skeleton is not None:
            self._skeleton.close()
            self._skeleton = None


class Frames(Sequence):
    """``num_envs`` frames of one ``render()`` call, each drawn when read (``frames[i]``)."""

    def __init__(self, renderer: EnvRenderer, state: dict, num_envs: int) -> None:
        self._renderer, self._state, self._n = renderer, state, num_envs
        self._host: dict | None = None

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        i = int(index)
        if not -self._n <= i < self._n:
            raise IndexError(f"env index {index} out of range for {self._n} envs")
        if self._host is None:  # one device -> host copy for all the frames read from here
            self._host = {k: v.cpu() for k, v in self._state.items()}
        return self._renderer.draw(self._host, i % self._n)

    def __repr__(self) -> str:
        return f"Frames(num_envs={self._n}, lazily rendered)"
