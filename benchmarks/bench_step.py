"""Step time and peak memory of every method against backprop, measured side by side.

    python benchmarks/bench_step.py                # the issue's setting: 6x1024 MLP, batch 512, CIFAR-shaped
    python benchmarks/bench_step.py --device cuda --depth 6 --width 1024

A step is one gradient estimate plus one AdamW update on a fixed batch (data
loading excluded). Methods are timed in interleaved rounds so that every
method, backprop included, sees the same machine load; the ratio is each
method's median over backprop's median. Peak memory is the extra memory one
step needs above the model and batch: CUDA's allocator peak on a GPU (above
the optimizer state too), on the CPU the rise of the peak RSS (Linux VmHWM,
reset just before the step) in a fresh process per method.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import statistics
import sys
import time

import torch

import gradguess.methods as M
from gradguess.models import MLP
from gradguess.optim import make_optimizer

DEFAULT_METHODS = ["backprop", "directional", "activation_perturbation", "activation_mixing", "wt", "downstream",
                   "self_sharpening", "cosine_matched_directional"]


def variants(names):
    for name in names:
        if issubclass(type(M.get(name)), M.ActivationGuess):
            for mode in M.MODES:
                yield f"{name}[{mode}]", name, {"mode": mode}
        else:
            yield name, name, {}


def setup(args, device):
    torch.manual_seed(0)
    model = MLP(args.in_features, args.classes, args.depth, args.width).to(device)
    opt = make_optimizer("adamw", model.parameters(), lr=1e-4)
    x = torch.randn(args.batch, args.in_features, device=device)
    y = torch.randint(0, args.classes, (args.batch,), device=device)
    return model, opt, x, y


def step(model, opt, est, x, y, gen):
    grads = est.estimate(model, x, y, gen)
    for n, p in model.named_parameters():
        p.grad = grads[n]
    opt.step()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def cpu_peak_worker(args, name, options, queue):
    torch.set_num_threads(args.threads)
    model, opt, x, y = setup(args, torch.device("cpu"))
    est, gen = M.get(name, **options), torch.Generator().manual_seed(0)
    for p in model.parameters():  # create AdamW's moment buffers before the baseline
        p.grad = torch.zeros_like(p)
    opt.step()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # Linux: reset the peak-RSS mark (VmHWM) to the current RSS
    base = _status_kib("VmRSS")
    step(model, opt, est, x, y, gen)
    queue.put((_status_kib("VmHWM") - base) * 1024)


def peak_memory(args, device, name, options):
    if device.type == "cuda":
        model, opt, x, y = setup(args, device)
        est, gen = M.get(name, **options), torch.Generator(device=device).manual_seed(0)
        step(model, opt, M.get("backprop"), x, y, gen)
        sync(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        step(model, opt, est, x, y, gen)
        sync(device)
        return torch.cuda.max_memory_allocated(device) - base
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=cpu_peak_worker, args=(args, name, options, queue))
    proc.start()
    value = queue.get()
    proc.join()
    return value


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--depth", type=int, default=6)
    p.add_argument("--width", type=int, default=1024)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--in-features", type=int, default=3 * 32 * 32)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds")
    p.add_argument("--steps", type=int, default=3, help="timed steps per method per round")
    p.add_argument("--methods", nargs="+", default=DEFAULT_METHODS)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--no-memory", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    model, opt, x, y = setup(args, device)
    table = list(variants(args.methods))
    estimators = {label: M.get(name, **opts) for label, name, opts in table}
    gen = torch.Generator(device=device).manual_seed(0)
    for est in estimators.values():  # warm-up
        step(model, opt, est, x, y, gen)
    times = {label: [] for label in estimators}
    for _ in range(args.rounds):
        for label, est in estimators.items():
            sync(device)
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(model, opt, est, x, y, gen)
            sync(device)
            times[label].append((time.perf_counter() - t0) / args.steps)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# {args.depth}x{args.width} MLP, batch {args.batch}, input {args.in_features}, "
          f"device {device} ({name}), {args.threads} threads, torch {torch.__version__}")
    print(f"# median of {args.rounds} interleaved rounds x {args.steps} steps; step = estimate + AdamW update")
    base = statistics.median(times["backprop"])
    print("| method | mode | median step (ms) | × backprop | peak extra memory (MiB) |")
    print("|---|---|---:|---:|---:|")
    for label, name, opts in table:
        med = statistics.median(times[label])
        mem = "" if args.no_memory else f"{peak_memory(args, device, name, opts) / 2**20:.0f}"
        print(f"| {name} | {opts.get('mode', '')} | {med * 1e3:.1f} | {med / base:.2f} | {mem} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
