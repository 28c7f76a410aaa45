"""The SDS reward's denoiser forward on the CPU in float32 vs bfloat16 autocast: time and error.

    python benchmarks/prior_precision.py                       # 16/64/256 envs, locomotion prior
    python benchmarks/prior_precision.py --num-envs 64 --prior priors/forward.safetensors

The batch is what the env's reward scores per step: ``num_envs`` windows x K timesteps
(8, 15, 22), noised as the reward noises them. Printed: ms per forward (median of repeats, eager
float32 and eager under ``torch.autocast("cpu", dtype=torch.bfloat16)``), their ratio, and what
bf16 changes: the relative error of ε̂ and of the per-window SDS error (mean squared ε̂ - ε).
Measurement only: the env scores in float32.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

import torch
import tyro

from smp_gym.prior.checkpoint import load_prior

TIMESTEPS = (8, 15, 22)


@dataclasses.dataclass
class Args:
    prior: Path = Path(__file__).resolve().parents[1] / "priors" / "locomotion.safetensors"
    num_envs: tuple[int, ...] = (16, 64, 256)
    calls: int = 10
    repeats: int = 5
    seed: int = 0


def _ms(fn, calls: int, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t) / calls)
    return 1000 * statistics.median(times)


@torch.inference_mode()
def main(args: Args) -> None:
    prior = load_prior(args.prior)
    model, cfg = prior.model.eval(), prior.model.cfg
    gen = torch.Generator().manual_seed(args.seed)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.prior.name}")
    print(
        "| envs | float32 ms | bf16 autocast ms | speed-up | ε̂ rel. error | SDS error rel. error |"
    )
    print("|---|---|---|---|---|---|", flush=True)
    for n in args.num_envs:
        t = torch.tensor(TIMESTEPS).repeat_interleave(n)
        x0 = torch.randn(len(t), cfg.window, cfg.feature_dim, generator=gen)
        eps = torch.randn(x0.shape, generator=gen)
        x_t = prior.schedule.add_noise(x0, eps, t)
        hidden = model.time_embedding(t)

        def fp32(x=x_t, t=t, h=hidden):
            return model(x, t, h)

        def bf16(x=x_t, t=t, h=hidden):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return model(x, t, h).float()

        e32, e16 = fp32(), bf16()
        sds32, sds16 = ((e - eps).square().mean(dim=(1, 2)) for e in (e32, e16))
        rel_eps = ((e16 - e32).norm() / e32.norm()).item()
        rel_sds = ((sds16 - sds32).abs() / sds32).median().item()
        a, b = _ms(fp32, args.calls, args.repeats), _ms(bf16, args.calls, args.repeats)
        print(f"| {n} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {rel_eps:.1e} | {rel_sds:.1e} |")


if __name__ == "__main__":
    main(tyro.cli(Args))
