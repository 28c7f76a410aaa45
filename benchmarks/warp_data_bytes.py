"""Bytes of MuJoCo Warp state per env: every Warp array reachable from mjlab's ``sim.wp_data``
(nested structs included, e.g. ``efc.J``), summed at two env counts; the slope is the per-env
cost, the same on CPU and CUDA since the arrays' shapes do not depend on the device.

    python benchmarks/warp_data_bytes.py                 # SmpSteeringG1-v0 at 2 and 4 envs, CPU
"""

from __future__ import annotations

import dataclasses
import json

import gymnasium
import tyro

import smp_gym  # noqa: F401  (registers the ids)


@dataclasses.dataclass
class Args:
    task: str = "SmpSteeringG1-v0"
    sizes: tuple[int, int] = (2, 4)
    device: str = "cpu"
    top: int = 8


def warp_arrays(obj, prefix: str = "", seen: set | None = None, depth: int = 0) -> dict[str, int]:
    """{"path.to.array": bytes} for every Warp array reachable from ``obj``."""
    import warp as wp

    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 4:
        return {}
    seen.add(id(obj))
    out: dict[str, int] = {}
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            value = getattr(obj, name)
        except Exception:  # noqa: BLE001, S112 - some properties need a context: skip them
            continue
        if isinstance(value, wp.array):
            if id(value) not in seen:
                seen.add(id(value))
                out[prefix + name] = value.size * wp.types.type_size_in_bytes(value.dtype)
        elif type(value).__module__.startswith(("mujoco_warp", "warp")) and not callable(value):
            if hasattr(value, "__dict__"):
                out.update(warp_arrays(value, f"{prefix}{name}.", seen, depth + 1))
    return out


def main(args: Args) -> dict:
    per_size = {}
    for n in args.sizes:
        env = gymnasium.make_vec(
            args.task,
            num_envs=n,
            device=args.device,
            seed=0,
            gsi={"pool_size": 16, "batch_size": 16},
        )
        per_size[n] = warp_arrays(env.unwrapped.sim.sim.wp_data)
        env.close()
    (a, b), (da, db) = args.sizes, (per_size[n] for n in args.sizes)
    slope = {k: (db[k] - da.get(k, 0)) / (b - a) for k in db}
    result = {
        "task": args.task,
        "bytes_per_env": sum(slope.values()),
        "fixed_bytes": sum(da.values()) - a * sum(slope.values()),
        "largest_per_env": dict(sorted(slope.items(), key=lambda kv: -kv[1])[: args.top]),
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
