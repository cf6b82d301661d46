"""Peak step memory and step time against depth: backprop, forward gradients in the default mode, and in the
low-memory mode (method option memory="low", methods/low_memory.py), side by side.

    python benchmarks/bench_low_memory.py                  # depths 3 6 12 24, width 1024, batch 512, CIFAR-10 shapes
    python benchmarks/bench_low_memory.py --device cuda    # CUDA's allocator peak instead of tensor accounting

A step is one gradient estimate of the MLP (random weights and batch: the cost does not depend on them); no
optimizer update, no data loading. Memory is tensor accounting (benchmarks/memory.py): the peak bytes of tensors
made during the step, weights and batch excluded (CPU: a dispatch mode; CUDA: max_memory_allocated). Two peaks:

- `compute`: through `Estimator.compute`, the interface the trainer calls; the returned update dict (every
  layer's update, weight-sized, the same for every method) is made during the step and counted.
- `buffers`: the update lands in gradient buffers made before the step, like `.grad` between steps, or like the
  weights and the optimizer state. Backprop: `loss.backward()` into existing `.grad` (autograd adds each layer's
  gradient in place); low-memory: `low_memory.sweeps` copies each layer's update into its buffer as it is formed;
  the default mode forms every layer's update at once (`Sites.updates`), so its dict is counted here too.

Step time is `compute`'s, without the dispatch mode: the fastest of --reps runs (the machine may be shared), or
of one run where a step is slower than --slow-s (every configuration is measured, some with fewer repetitions);
on the CPU also the process's CPU seconds (all its threads), which other work on shared cores disturbs less.
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
from gradguess.methods import low_memory  # noqa: E402
from gradguess.methods.base import mean_cross_entropy  # noqa: E402
from gradguess.models import MLP  # noqa: E402
from memory import measure  # noqa: E402

MiB = 2 ** 20
# (label, method, options): backprop, then each forward-gradient method in the default and the low-memory mode
VARIANTS = [("backprop", "backprop", {}),
            ("wt", "wt", {}), ("wt low", "wt", {"memory": "low"}),
            ("ap", "activation_perturbation", {}), ("ap low", "activation_perturbation", {"memory": "low"}),
            ("directional", "directional", {}), ("directional low", "directional", {"memory": "low"})]


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--depths", type=int, nargs="+", default=[3, 6, 12, 24])
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--variants", nargs="+", default=[v[0] for v in VARIANTS], help="labels from VARIANTS")
    p.add_argument("--reps", type=int, default=3, help="timed runs per configuration (the fastest is reported)")
    p.add_argument("--slow-s", type=float, default=10.0, help="time a step slower than this only once")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None, help="also write the output to this file")
    return p.parse_args(argv)


def into_buffers(est, model, x, y, gen, buffers):
    """One step whose update lands in `buffers` (made before the step)."""
    if est.name == "backprop":
        with torch.enable_grad():
            mean_cross_entropy(model(x), y).backward()  # accumulates into the existing .grad, in place
    elif getattr(est, "memory", "default") == "low":
        low_memory.sweeps(est, model, x, y, gen, lambda n, u: buffers[n].copy_(u))
    else:
        for n, g in est.compute(model, x, y, gen).grads.items():
            buffers[n].copy_(g)


def bench(model, label, method, options, x, y, device, reps, slow_s) -> dict:
    est = M.get(method, **options)
    existing = [*model.parameters(), x]

    def gen():
        return torch.Generator(device=device).manual_seed(0)

    def step():
        return est.compute(model, x, y, gen())

    _, compute = measure(step, device, existing)
    buffers = {n: torch.zeros_like(p) for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        p.grad = buffers[n]  # backprop's .grad; the others write into the same buffers
    _, into = measure(lambda: into_buffers(est, model, x, y, gen(), buffers), device, existing)
    for p in model.parameters():
        p.grad = None
    del buffers
    times = [_time(step, device)]
    while len(times) < reps and times[0][0] <= slow_s:
        times.append(_time(step, device))
    return {"seconds": min(t[0] for t in times), "cpu_seconds": min(t[1] for t in times), "runs": len(times),
            "compute": compute["peak_bytes"],
            "buffers": into["peak_bytes"], "saved": compute["saved_bytes"]}


def _time(fn, device) -> tuple[float, float]:
    """Wall seconds, and this process's CPU seconds (all its threads: less disturbed by other work sharing the
    cores than the wall clock)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start, time.process_time() - cpu


def run(args) -> list[str]:
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = [v for v in VARIANTS if v[0] in args.variants]
    where = (f"{torch.cuda.get_device_name(device)}" if device.type == "cuda" else
             f"{platform.node()}, {os.cpu_count()} CPU cores (shared), {torch.get_num_threads()} threads, "
             f"load average {os.getloadavg()[0]:.1f}")
    accounting = "CUDA max_memory_allocated" if device.type == "cuda" else "live tensor bytes (dispatch mode)"
    lines = [f"# bench_low_memory {' '.join(sys.argv[1:]) or '(defaults)'}",
             f"# {time.strftime('%a %b %d %H:%M:%S %Z %Y')}, torch {torch.__version__}, device {device}: {where}",
             f"# MLP 3072 -> {args.width} x (depth-1) -> 10, batch {args.batch}, float32; memory: {accounting}",
             "# compute: peak through Estimator.compute, the returned update dict counted; buffers: the update "
             "written into gradient buffers made before the step (see the docstring)", "",
             f"{'depth':>5} {'variant':<16} {'step s':>7} {'runs':>4} {'x bp':>5} {'cpu s':>6} {'compute MiB':>11} "
             f"{'buffers MiB':>11} {'x depth3':>8} {'saved-for-bw MiB':>16}"]
    print("\n".join(lines), flush=True)
    done: dict[tuple[str, int], dict] = {}
    for depth in sorted(args.depths):
        torch.manual_seed(0)
        model = MLP(3 * 32 * 32, 10, depth, args.width).to(device)
        x = torch.randn(args.batch, 3, 32, 32, device=device)
        y = torch.randint(0, 10, (args.batch,), device=device)
        for label, method, options in variants:
            if not any(k[0] == label for k in done):  # warm-up: first-call costs out of the timing
                M.get(method, **options).compute(model, x, y, torch.Generator(device=device).manual_seed(0))
            r = done[(label, depth)] = bench(model, label, method, options, x, y, device, args.reps, args.slow_s)
            bp = done.get(("backprop", depth))
            first = done[(label, min(args.depths))]
            lines.append(f"{depth:>5} {label:<16} {r['seconds']:>7.2f} {r['runs']:>4} "
                         f"{r['seconds'] / bp['seconds'] if bp else float('nan'):>5.2f} {r['cpu_seconds']:>6.2f} "
                         f"{r['compute'] / MiB:>11.1f} "
                         f"{r['buffers'] / MiB:>11.1f} {r['buffers'] / first['buffers']:>8.2f} "
                         f"{r['saved'] / MiB:>16.1f}")
            print(lines[-1], flush=True)
        update = sum(p.numel() * p.element_size() for p in model.parameters())
        lines.append(f"#     depth {depth}: the update (every parameter's) is {update / MiB:.1f} MiB")
        print(lines[-1], flush=True)
        del model, x, y
    tables = _side_by_side(done, variants, sorted(args.depths))
    print("\n".join(tables), flush=True)
    lines += tables
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")
    return lines


def _side_by_side(done, variants, depths) -> list[str]:
    """Peaks and step time per variant across depths, with ratios (to the shallowest depth; to backprop)."""
    d0 = depths[0]
    head = f"{'variant':<16} " + " ".join(f"{'depth ' + str(d):>16}" for d in depths)

    def table(title, key, scale, ratio_to):
        rows = ["", title, head]
        for label, _, _ in variants:
            cells = []
            for d in depths:
                r, base = done[(label, d)], done.get(ratio_to(label, d))
                ratio = f"({r[key] / base[key]:>4.2f}x)" if base else " " * 7
                cells.append(f"{r[key] / scale:>8.{1 if scale > 1 else 2}f} {ratio}")
            rows.append(f"{label:<16} " + " ".join(cells))
        return rows

    return (table(f"# side by side: peak step memory, update into buffers, MiB (x depth {d0})", "buffers", MiB,
                  lambda label, d: (label, d0))
            + table(f"# side by side: peak through compute (update dict counted), MiB (x depth {d0})", "compute", MiB,
                    lambda label, d: (label, d0))
            + table("# side by side: step seconds, wall (x backprop at that depth)", "seconds", 1,
                    lambda label, d: ("backprop", d))
            + table("# side by side: step CPU seconds, all the process's threads (x backprop at that depth)",
                    "cpu_seconds", 1, lambda label, d: ("backprop", d))
            + _low_over_default(done, variants, depths))


def _low_over_default(done, variants, depths) -> list[str]:
    """What the low-memory mode costs in time: its step over the same method's default step."""
    labels = {label for label, _, _ in variants}
    pairs = [(label, label[:-len(" low")]) for label, _, _ in variants
             if label.endswith(" low") and label[:-len(" low")] in labels]
    out = ["", "# low-memory step time over the default mode's: wall / CPU",
           f"{'method':<16} " + " ".join(f"{'depth ' + str(d):>16}" for d in depths)]
    for low, default in pairs:
        out.append(f"{default:<16} " + " ".join(
            f"{done[(low, d)]['seconds'] / done[(default, d)]['seconds']:>8.2f} / "
            f"{done[(low, d)]['cpu_seconds'] / max(done[(default, d)]['cpu_seconds'], 1e-9):>4.2f}" for d in depths))
    return out


if __name__ == "__main__":
    run(parse())
