"""The task table: ids, modules and defaults, readable without importing mjlab."""

from __future__ import annotations

from dataclasses import dataclass

from smp_gym.errors import ConfigError, fmt_choices


@dataclass(frozen=True)
class TaskInfo:
    id: str
    name: str
    module: str
    description: str
    default_prior: str
    episode_length_s: float

    @property
    def max_episode_steps(self) -> int:
        return round(self.episode_length_s / 0.02)


TASKS: dict[str, TaskInfo] = {
    t.id: t
    for t in (
        TaskInfo("SmpForwardG1-v0", "forward", "smp_gym.envs.forward",
                 "Walk/jog/run along world +x at a commanded speed (0.5-5 m/s).", "forward", 20.0),
        TaskInfo("SmpSteeringG1-v0", "steering", "smp_gym.envs.steering",
                 "Track a commanded planar velocity (0.5-2 m/s) while facing a commanded direction.",
                 "locomotion", 20.0),
        TaskInfo("SmpLocationG1-v0", "location", "smp_gym.envs.location",
                 "Walk to a world-frame xy goal 1-10 m away, re-drawn every 5-10 s.",
                 "locomotion", 20.0),
        TaskInfo("SmpGetupG1-v0", "getup", "smp_gym.envs.getup",
                 "Stand up from a fallen pose and hold the head above 1.2 m.", "getup", 5.0),
    )  # fmt: skip
}


def task_info(task: str) -> TaskInfo:
    """Look a task up by id (``SmpSteeringG1-v0``) or short name (``steering``)."""
    if task in TASKS:
        return TASKS[task]
    for info in TASKS.values():
        if task == info.name:
            return info
    raise ConfigError(
        f"task: received {task!r}; valid ids: {fmt_choices(TASKS)} "
        f"(or short names {fmt_choices(t.name for t in TASKS.values())})."
    )
