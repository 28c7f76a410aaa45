"""The task table: ids, modules and defaults, readable without importing mjlab."""

from __future__ import annotations

from dataclasses import dataclass, field

from smp_gym.config import SmpRewardCfg
from smp_gym.errors import ConfigError, fmt_choices


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """One registry row: what ``smp-gym tasks`` prints and where the task's file lives."""

    id: str
    """Gymnasium id, e.g. ``SmpSteeringG1-v0``."""
    name: str
    """Short name (``steering``): also accepted by ``make_vec`` and the CLI."""
    module: str
    """The task file's module; it defines ``TASK`` (a ``smp_gym.task.TaskSpec``)."""
    description: str
    default_prior: str
    """Shipped prior name (``priors/MANIFEST.json``) used when ``prior=`` is not given."""
    episode_length_s: float
    reward: SmpRewardCfg = field(default_factory=SmpRewardCfg)
    """The task's default SMP reward settings (``make_vec(reward={...})`` merges into them)."""


TASKS: dict[str, TaskInfo] = {
    t.id: t
    for t in (
        TaskInfo(
            id="SmpForwardG1-v0",
            name="forward",
            module="smp_gym.envs.forward",
            description="Walk/jog/run along world +x at a commanded speed (0.5-5 m/s).",
            default_prior="forward",
            episode_length_s=20.0,
        ),
        TaskInfo(
            id="SmpSteeringG1-v0",
            name="steering",
            module="smp_gym.envs.steering",
            description="Track a commanded planar velocity (0.5-2 m/s) while facing a commanded "
            "direction.",
            default_prior="locomotion",
            episode_length_s=20.0,
        ),
        TaskInfo(
            id="SmpLocationG1-v0",
            name="location",
            module="smp_gym.envs.location",
            description="Walk to a world-frame xy goal 1-10 m away, re-drawn every 5-10 s.",
            default_prior="locomotion",
            episode_length_s=20.0,
            reward=SmpRewardCfg(ws=4.0),
        ),  # docs/reference.md#location
        TaskInfo(
            id="SmpGetupG1-v0",
            name="getup",
            module="smp_gym.envs.getup",
            description="Stand up from a fallen pose and hold the head above 1.2 m.",
            default_prior="getup",
            episode_length_s=5.0,
        ),
        TaskInfo(
            id="SmpDodgeballG1-v0",
            name="dodgeball",
            module="smp_gym.envs.dodgeball",
            description="Dodge a ball thrown at the torso from 8-10 m every 1-4 s; a hit ends "
            "the episode.",
            default_prior="locomotion",
            episode_length_s=20.0,
        ),
    )
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


def register(info: TaskInfo) -> None:
    """Add a task row and register its id with Gymnasium (``make_vec`` builds it from
    ``info.module``'s ``TASK``). ``import smp_gym`` does this for every row of ``TASKS``; a task
    living outside this package can call it too."""
    import gymnasium

    if not isinstance(info, TaskInfo):
        raise ConfigError(
            f"register: received {type(info).__name__}; pass a TaskInfo(id=..., ...)."
        )
    TASKS[info.id] = info
    if info.id not in gymnasium.registry:
        gymnasium.register(
            id=info.id, vector_entry_point="smp_gym.make:make_vec", kwargs={"env_id": info.id}
        )
