"""A dependency-light fallback renderer: the robot's bodies as a stick figure (matplotlib).

Used by ``smp-gym play`` and ``SmpVectorEnv.render()`` when no OpenGL backend works (e.g. a CPU
machine without OSMesa), so a training run still leaves a clip to look at. Pure matplotlib: it
lives beside the MuJoCo renderer so the env can fall back on it without importing the tooling.
"""

from __future__ import annotations

import numpy as np


class SkeletonRenderer:
    """Draws bodies [B, 3] connected to their parents, from a camera that follows the root."""

    def __init__(self, parents: list[int], width: int = 320, height: int = 240) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.parents = parents
        self.fig = Figure(figsize=(width / 80, height / 80), dpi=80)  # no pyplot: no GUI state
        FigureCanvasAgg(self.fig)
        self.ax = self.fig.add_subplot(projection="3d")

    def render(self, pos: np.ndarray) -> np.ndarray:
        ax = self.ax
        ax.cla()
        cx, cy = pos[0, 0], pos[0, 1]
        grid = np.arange(-1.0, 1.01, 0.5)
        for g in grid:  # a floor grid that scrolls with the world
            ax.plot(
                [cx + g - (cx % 0.5), cx + g - (cx % 0.5)],
                [cy - 1, cy + 1],
                [0, 0],
                color="0.85",
                lw=0.6,
            )
            ax.plot(
                [cx - 1, cx + 1],
                [cy + g - (cy % 0.5), cy + g - (cy % 0.5)],
                [0, 0],
                color="0.85",
                lw=0.6,
            )
        for child, parent in enumerate(self.parents):
            if parent >= 0:
                seg = pos[[parent, child]]
                ax.plot(seg[:, 0], seg[:, 1], seg[:, 2], color="tab:blue", lw=2.0)
        ax.scatter(pos[:, 0], pos[:, 1], pos[:, 2], s=6, color="tab:orange")
        ax.set(xlim=(cx - 1, cx + 1), ylim=(cy - 1, cy + 1), zlim=(0, 1.6))
        ax.set_box_aspect((1, 1, 0.8))
        ax.view_init(elev=10, azim=-45)
        ax.set_axis_off()
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self.fig.clear()
