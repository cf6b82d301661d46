"""Replicate batching: R replicates of one MLP run trained as one batched model (gradguess.batched) against the same
replicates one by one (gradguess.train's step), side by side, with their throughput ratio.

    python benchmarks/bench_batched.py --device cpu                   # R = 8, 32, 64 of 3x128 and 6x1024
    python benchmarks/bench_batched.py --device cuda --compile reduce-overhead

What is timed is the trainer's hot loop, one training step at a time, as each way of running takes it: gather
the batch by index from data kept on the device, estimate the gradient, update. One by one: the method's
`compute` and the single optimizer (gradguess.optim), replicate after replicate, as gradguess.train steps; batched:
gradguess.batched.Batch's per-replicate draws, vmapped estimate and stacked optimizer step. The data are
CIFAR-shaped (3x32x32, 10 classes, random values: the time does not depend on them), the batch is 512 (the paper's
for its MLPs, Table 2), the optimizer AdamW, the lrs differ per replicate. Throughput: replicate-steps per second.
One by one steps --alone replicates in turn: its time per replicate-step does not depend on
R (a job of R runs one by one takes R times as long). CUDA times are
taken between torch.cuda.synchronize() calls. --compile compiles the batched estimate (torch.compile; on a GPU
"reduce-overhead" uses CUDA graphs) and falls back to eager, saying so, if that fails.
"""
from __future__ import annotations

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from gradguess import methods, models  # noqa: E402
from gradguess.batched import Batch, Entry, Member  # noqa: E402
from gradguess.optim import make_optimizer  # noqa: E402
from gradguess.runfiles import generators  # noqa: E402
from gradguess.spec import Part, RunSpec  # noqa: E402

SHAPE, CLASSES = (3, 32, 32), 10


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(step, device, steps: int) -> float:
    """Seconds per step over `steps` steps."""
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return (time.perf_counter() - start) / steps


def specs(method: str, depth: int, width: int, replicates: int, batch: int) -> list[RunSpec]:
    return [RunSpec(model=Part("mlp", {"depth": depth, "width": width}), method=Part(method), dataset="synthetic",
                    batch_size=batch, lr=1e-4 * (1 + r % 4), seeds=(r,)) for r in range(replicates)]


def data(n: int, device):
    g = torch.Generator(device="cpu").manual_seed(0)
    return (torch.randn((n, *SHAPE), generator=g).to(device), torch.randint(0, CLASSES, (n,), generator=g).to(device))


def alone(spec: RunSpec, x_train, y_train, device):
    """One replicate's training step as gradguess.train takes it."""
    seed, n = spec.seeds[0], len(x_train)
    model = models.build(spec.model, SHAPE, CLASSES, seed).to(device)
    params = dict(model.named_parameters())
    estimator = methods.get(spec.method.name)
    optimizer = make_optimizer(spec.optimizer, params.values(), spec.lr)
    gens = generators(seed, device)
    order = torch.randperm(n, generator=gens["data_gen"], device=device)
    state = {"k": 0, "loss": torch.zeros((), device=device)}

    def step():
        begin = (state["k"] * spec.batch_size) % (n - spec.batch_size)
        idx = order[begin:begin + spec.batch_size]
        x, y = x_train[idx], y_train[idx]
        est = estimator.compute(model, x, y, gens["guess_gen"])
        for name, p in params.items():
            p.grad = est.grads[name]
        optimizer.step()
        state["loss"] += est.loss * len(y)  # accumulated on the device, as the trainer does
        state["k"] += 1

    return step


def batched(runs: list[RunSpec], x_train, y_train, device, compile_mode):
    """All replicates' training step as one batched model, as gradguess.batched takes it."""
    template = models.build(runs[0].model, SHAPE, CLASSES, 0).to(device)
    members = []
    for i, spec in enumerate(runs):
        seed = spec.seeds[0]
        params = {k: p.detach().to(device) for k, p in models.build(spec.model, SHAPE, CLASSES, seed).named_parameters()}
        members.append(Member(None, generators(seed, device), index=i, entry=Entry(spec, seed, f"replicate{i}"),
                              params=params, opt_state=None, step=0))
    batch = Batch(members, template, {}, compile_mode)
    n, size = len(x_train), runs[0].batch_size
    orders = torch.stack([torch.randperm(n, generator=g, device=device) for g in batch.gens("data_gen")])
    state = {"loss": torch.zeros(len(runs), device=device)}

    def step():
        begin = (batch.step * size) % (n - size)
        idx = orders[:, begin:begin + size]
        x, y = x_train[idx], y_train[idx]
        grads, logits, loss = batch.estimate(x, y, batch.draw(x, y))
        batch.opt.step([grads[name] for name in batch.params])
        state["loss"] += loss * size
        batch.step += 1

    return step


def best(rounds: int, budget: float, device, *steppers) -> list[float]:
    """Each stepper's fastest seconds per step over `rounds` rounds, taken in turn (A B A B ...: a load that comes and
    goes on a shared machine hits both alike); each round runs a stepper for about budget / rounds seconds."""
    out = [math.inf] * len(steppers)
    per = [None] * len(steppers)
    for i, step in enumerate(steppers):  # warm-up (and the batched dry runs), then a first estimate of the step
        step()
        per[i] = timed(step, device, 1)
        out[i] = per[i]
    for _ in range(rounds):
        for i, step in enumerate(steppers):
            steps = max(1, int(budget / rounds / max(per[i], 1e-6)))
            out[i] = min(out[i], timed(step, device, steps))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--replicates", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--archs", nargs="+", default=["3x128", "6x1024"], help="DEPTHxWIDTH")
    parser.add_argument("--method", default="wt")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds, alternating the two ways (best kept)")
    parser.add_argument("--budget", type=float, default=6.0,
                        help="seconds of timed steps per configuration and way of running, over all rounds (a step "
                             "longer than budget / rounds runs once a round)")
    parser.add_argument("--alone", type=int, default=4, help="replicates timed one by one")
    parser.add_argument("--examples", type=int, default=8192, help="examples kept on the device to index batches from")
    parser.add_argument("--compile", default=None, choices=("default", "reduce-overhead", "max-autotune"))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{torch.get_num_threads()} threads"
    print(f"# replicate batching, {args.method}, AdamW, batch {args.batch_size}, CIFAR-shaped data on {device} "
          f"({name}), torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"compile={args.compile or 'no'}")
    print(f"# throughput: replicate-steps per second (the best of {args.rounds} alternating rounds); ratio: batched "
          "/ one by one")
    print(f"{'arch':>7} {'R':>3} {'one by one':>11} {'batched':>9} {'ratio':>6}   "
          f"{'ms/replicate-step alone':>23} {'ms/batched step':>15}")
    x_train, y_train = data(args.examples, device)
    for arch in args.archs:
        depth, width = (int(v) for v in arch.split("x"))
        lone = [alone(spec, x_train, y_train, device) for spec in specs(args.method, depth, width, args.alone,
                                                                         args.batch_size)]

        def one_by_one():  # the --alone replicates, one step each: seconds per replicate-step below
            for step in lone:
                step()

        for replicates in args.replicates:
            runs = specs(args.method, depth, width, replicates, args.batch_size)
            try:
                together = batched(runs, x_train, y_train, device, args.compile)
                per_round, per_batch = best(args.rounds, args.budget, device, one_by_one, together)
            except torch.OutOfMemoryError as exc:
                print(f"{arch:>7} {replicates:>3}  out of memory: {str(exc).splitlines()[0]}")
                continue
            per_alone = per_round / len(lone)
            print(f"{arch:>7} {replicates:>3} {1 / per_alone:11.2f} {replicates / per_batch:9.2f} "
                  f"{per_alone * replicates / per_batch:6.2f}   {per_alone * 1e3:23.1f} {per_batch * 1e3:15.1f}",
                  flush=True)
            del together
            if device.type == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
