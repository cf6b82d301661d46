"""Prompt tuning's step time and peak memory, directional descent and W^T against backprop, side by side.

    python benchmarks/bench_prompt.py                    # CPU: ViT-B/16 shapes, 3/6/12 blocks, batches 32 and 128
    python benchmarks/bench_prompt.py --device cuda      # + CUDA's allocator peak (no memory or time limits)

A step is one gradient estimate for the trainable parameters (prompt, head) of a VPT-shallow ViT-B/16
(224-pixel images, 16-pixel patches, width 768, 12 heads, MLP 3072; random weights: the cost does not
depend on them) on a random batch; no optimizer update (a few thousand parameters) and no data loading.
Memory is tensor accounting (benchmarks/memory.py): the peak bytes of tensors made during the step (weights
and batch excluded), on the CPU by a dispatch mode, on CUDA by the caching allocator's peak; and the bytes
autograd saved for a backward pass. Forward-gradient prompt tuning should save none of the frozen backbone's
activations, so its peak should not grow with depth while backprop's grows by a block's activations per block.

On a small CPU the largest configurations may not fit: a configuration is measured only if its projected
peak (from the same method's last measurement, scaled by batch and depth) stays under --memory-gb and its
projected time under --max-step-s; the others are listed as skipped, with the projection.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gradguess.methods as M  # noqa: E402
from gradguess.models.vit_prompt import VIT_B16, build_vit_prompt  # noqa: E402
from memory import measure  # noqa: E402

MiB = 2 ** 20


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--depths", type=int, nargs="+", default=[3, 6, 12])
    p.add_argument("--batches", type=int, nargs="+", default=[32, 128])
    p.add_argument("--methods", nargs="+", default=["backprop", "directional", "wt"])
    p.add_argument("--n-prompt", type=int, default=10)
    p.add_argument("--classes", type=int, default=200, help="CUB-200-2011's 200")
    p.add_argument("--memory-gb", type=float, default=None, help="skip configurations projected above (CPU default 8)")
    p.add_argument("--max-step-s", type=float, default=None,
                   help="skip configurations projected slower (CPU default 120)")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    cpu = torch.device(args.device).type == "cpu"
    args.memory_gb = args.memory_gb if args.memory_gb is not None else (8.0 if cpu else float("inf"))
    args.max_step_s = args.max_step_s if args.max_step_s is not None else (120.0 if cpu else float("inf"))
    return args


def projection(done: dict, method: str, depth: int, batch: int) -> tuple[float, float] | None:
    """(peak bytes, seconds) projected from the nearest measured configuration of `method`, linear in batch and
    in depth (an upper bound for a peak that does not grow with depth)."""
    near = [(d, b, r) for (m, d, b), r in done.items() if m == method and d <= depth and b <= batch]
    if not near:
        return None
    d, b, r = max(near, key=lambda t: (t[0] * t[1]))
    scale = (depth / d) * (batch / b)
    return r["peak_bytes"] * scale, r["seconds"] * scale


def step(model, method, x, y, device):
    est = M.get(method)
    existing = [*model.parameters(), x]
    gen = torch.Generator(device=device).manual_seed(0)
    estimate, stats = measure(lambda: est.compute(model, x, y, gen), device, existing)
    assert set(estimate.grads) == {"prompt", "head.weight", "head.bias"}
    return stats


def run(args) -> list[str]:
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    lines = [f"# bench_prompt: {' '.join(sys.argv[1:]) or '(defaults)'}",
             f"# {time.strftime('%Y-%m-%d %H:%M')}, {platform.node()}, torch {torch.__version__}, device {device}"
             + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
                f", {torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.1f}"),
             f"# ViT-B/16 shapes {VIT_B16}, 224px, {args.n_prompt} prompt tokens, {args.classes} classes, "
             "random weights",
             f"# limits: projected peak <= {args.memory_gb} GB, projected step <= {args.max_step_s} s",
             "", f"{'depth':>5} {'batch':>5} {'method':<12} {'step s':>8} {'x bp':>6} {'peak MiB':>9} {'x bp':>6} "
             f"{'saved-for-backward MiB':>23}"]
    print("\n".join(lines), flush=True)
    done: dict[tuple, dict] = {}
    for depth in sorted(args.depths):
        options = {**VIT_B16, "depth": depth}
        model = build_vit_prompt(args.classes, (3, 224, 224), seed=0, n_prompt=args.n_prompt, **options).to(device)
        for batch in sorted(args.batches):
            g = torch.Generator().manual_seed(batch)
            x = torch.randn(batch, 3, 224, 224, generator=g).to(device)
            y = torch.randint(0, args.classes, (batch,), generator=g).to(device)
            for method in args.methods:
                guess = projection(done, method, depth, batch)
                if guess and (guess[0] > args.memory_gb * 2 ** 30 or guess[1] > args.max_step_s):
                    line = (f"{depth:>5} {batch:>5} {method:<12} skipped: projected {guess[1]:.0f} s, "
                            f"{guess[0] / MiB:.0f} MiB")
                else:
                    if (method, depth) not in {(m, d) for m, d, _ in done}:
                        step(model, method, x[:2], y[:2], device)  # warm-up: first-call costs out of the timing
                    r = done[(method, depth, batch)] = step(model, method, x, y, device)
                    bp = done.get(("backprop", depth, batch))
                    ratio = (lambda k: f"{r[k] / bp[k]:>6.2f}") if bp else (lambda k: f"{'':>6}")
                    line = (f"{depth:>5} {batch:>5} {method:<12} {r['seconds']:>8.2f} {ratio('seconds')} "
                            f"{r['peak_bytes'] / MiB:>9.0f} {ratio('peak_bytes')} {r['saved_bytes'] / MiB:>23.1f}")
                lines.append(line)
                print(line, flush=True)
        del model
    growth = ["", "# peak growth with depth (MiB per block, least squares over the measured depths):"]
    for batch in sorted(args.batches):
        for method in args.methods:
            pts = sorted((d, r["peak_bytes"] / MiB) for (m, d, b), r in done.items() if m == method and b == batch)
            if len(pts) >= 2:
                md, mp = sum(d for d, _ in pts) / len(pts), sum(p for _, p in pts) / len(pts)
                slope = sum((d - md) * (p - mp) for d, p in pts) / sum((d - md) ** 2 for d, _ in pts)
                growth.append(f"#   batch {batch:>4} {method:<12} {slope:>8.1f} MiB/block  "
                              + ", ".join(f"depth {d}: {p:.0f}" for d, p in pts))
    print("\n".join(growth), flush=True)
    lines += growth
    return lines


if __name__ == "__main__":
    run(parse())
