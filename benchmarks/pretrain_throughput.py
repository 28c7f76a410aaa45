"""Prior pretraining throughput (windows/s through forward + backward) at the shipped settings.

python benchmarks/pretrain_throughput.py --device cpu --out pretrain_cpu.json
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import torch
import tyro

from smp_gym.device import resolve_device
from smp_gym.prior.denoiser import Denoiser, DenoiserCfg
from smp_gym.prior.schedule import DdpmSchedule
from smp_gym.prior.train import diffusion_loss
from smp_gym.tools.bench import machine


@dataclasses.dataclass
class Args:
    device: str = "auto"
    batch_sizes: tuple[int, ...] = (256, 1024)
    noise_samples: int = 4
    steps: int = 20
    warmup: int = 3
    out: Path | None = None


def main(args: Args) -> dict:
    dev = resolve_device(args.device)
    model = Denoiser(DenoiserCfg()).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = DdpmSchedule(50, dev)
    rows = []
    for bs in args.batch_sizes:
        x = torch.randn(bs, 10, 59, device=dev)
        for i in range(args.warmup + args.steps):
            if i == args.warmup:
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            loss = diffusion_loss(model, sched, x, args.noise_samples, focus_max_t=24)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / args.steps
        rows.append(
            {
                "batch_size": bs,
                "noise_samples": args.noise_samples,
                "steps_per_s": 1 / dt,
                "windows_per_s": bs * args.noise_samples / dt,
            }
        )
    result = {"device": str(dev), "machine": machine(), "rows": rows}
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(tyro.cli(Args))
