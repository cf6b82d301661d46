"""LocalMixer step time of every Table 1 method against backprop, side by side, and Table 1's projected GPU-hours.

    python benchmarks/bench_mixer.py --batch 32                    # CPU, Ren et al.'s CIFAR-10 size (M/8/16)
    python benchmarks/bench_mixer.py --device cuda --batch 128
    python benchmarks/bench_mixer.py --batch 32 --gpu-step-ms 12   # + projection from backprop's GPU step

A step is one gradient estimate plus one AdamW update (Table 1: Adam, lr 1e-3,
no weight decay) on a fixed CIFAR-shaped batch; data loading and augmentation
excluded. Methods are timed in interleaved rounds so every method sees the same
machine load; the ratio is each method's median over backprop's.

Projection (`--gpu-step-ms`, backprop's measured GPU step at `--batch`; every
other method's step is that times its ratio from *this* run, so run this on the
GPU for a faithful projection, or give per-method times as name=ms pairs):
  (a) "Reproduced with Adam": Adam lr 1e-3; the paper does not state the epochs.
      We assume `--epochs-a` (default 200, the default of Ren et al.'s CIFAR code).
  (b) augmentation, 500 epochs, the four methods;
  (c) augmentation, 5000 epochs, the three non-backprop methods (Table 1 also
      lists backprop at 77.6 in this row; `--backprop-in-c` adds its 5000 epochs);
  each × `--seeds` seeds, ceil(50,000 / batch) steps per epoch; the guessed
  methods with local losses (Table 1 is on "Ren et al.'s architecture and losses", A.4).
"""
from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time

import torch

import gradguess.methods as M
from gradguess.models import CIFAR10_SIZES, build_mixer_seeded
from gradguess.optim import make_optimizer

# (label, method, options); Table 1's columns are the four with local losses (backprop has none to use)
VARIANTS = [
    ("backprop", "backprop", {}),
    ("ren_et_al (act. perturbation, local)", "activation_perturbation", {"local_losses": True}),
    ("activation_mixing, local", "activation_mixing", {"local_losses": True}),
    ("wt, local", "wt", {"local_losses": True}),
    ("activation_perturbation, end to end", "activation_perturbation", {"local_losses": False}),
    ("activation_mixing, end to end", "activation_mixing", {"local_losses": False}),
    ("wt, end to end", "wt", {"local_losses": False}),
]
TABLE1 = {"backprop": "backprop", "ren_et_al": "ren_et_al (act. perturbation, local)",
          "mixing": "activation_mixing, local", "wt": "wt, local"}
TRAIN_IMAGES = 50_000


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def projection(args, ratios: dict[str, float]) -> list[str]:
    per_ms = {}
    if "=" in args.gpu_step_ms:
        for pair in args.gpu_step_ms.split(","):
            name, ms = pair.split("=")
            per_ms[name.strip()] = float(ms)
        missing = sorted(set(TABLE1) - set(per_ms))
        if missing:
            raise SystemExit(f"--gpu-step-ms lacks {', '.join(missing)} (names: {', '.join(TABLE1)})")
    else:
        bp = float(args.gpu_step_ms)
        per_ms = {name: bp * ratios[label] for name, label in TABLE1.items()}
    steps = math.ceil(TRAIN_IMAGES / args.batch)
    rows = [("(a) Adam lr 1e-3", args.epochs_a, list(TABLE1)),
            ("(b) augmentation", 500, list(TABLE1)),
            ("(c) augmentation, 10x", 5000, [n for n in TABLE1 if n != "backprop" or args.backprop_in_c])]
    out = [f"Table 1 projection: batch {args.batch}, {steps} steps/epoch, {args.seeds} seeds; GPU step ms: "
           + ", ".join(f"{n} {per_ms[n]:.2f}" for n in TABLE1)
           + ("" if "=" in args.gpu_step_ms else " (backprop measured, others x this run's ratio)")]
    total = 0.0
    for label, epochs, names in rows:
        hours = {n: per_ms[n] * steps * epochs * args.seeds / 3.6e6 for n in names}
        total += sum(hours.values())
        out.append(f"  {label:<24} {epochs:>5} epochs  " + "  ".join(f"{n} {h:7.1f}" for n, h in hours.items())
                   + f"   row {sum(hours.values()):8.1f} GPU-h")
    out.append(f"  total {total:.1f} GPU-hours (step time only: evaluation, augmentation and start-up not counted)")
    if args.epochs_a_assumed:
        out.append(f"  (a)'s epochs are not stated in the paper: {args.epochs_a} assumed")
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    for k, v in CIFAR10_SIZES.items():
        p.add_argument(f"--{k}", type=int, default=v)
    p.add_argument("--gpu-step-ms", default=None,
                   help="backprop's GPU step in ms, or name=ms pairs for " + ", ".join(TABLE1))
    p.add_argument("--epochs-a", type=int, default=None)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--backprop-in-c", action="store_true")
    args = p.parse_args(argv)
    args.epochs_a_assumed = args.epochs_a is None
    if args.epochs_a is None:
        args.epochs_a = 200
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    sizes = {k: getattr(args, k) for k in CIFAR10_SIZES}

    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    runs = []
    for label, name, options in VARIANTS:
        model = build_mixer_seeded((3, 32, 32), 10, 0, **sizes).to(device)
        opt = make_optimizer("adamw", model.parameters(), 1e-3, weight_decay=0.0)
        gen = torch.Generator(device=device).manual_seed(0)
        runs.append((label, model, opt, M.get(name, **options), gen))

    def step(model, opt, est, gen):
        grads = est.estimate(model, x, y, gen)
        for n, prm in model.named_parameters():
            prm.grad = grads[n]
        opt.step()

    times = {label: [] for label, *_ in runs}
    for r in range(args.warmup + args.rounds):
        for label, model, opt, est, gen in runs:
            sync(device)
            t = time.perf_counter()
            step(model, opt, est, gen)
            sync(device)
            if r >= args.warmup:
                times[label].append(time.perf_counter() - t)

    params = sum(prm.numel() for prm in runs[0][1].parameters())
    dev = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or platform.machine()}"
    print(f"LocalMixer step (estimate + AdamW), blocks {sizes['blocks']}, channels {sizes['channels']}, "
          f"patch {sizes['patch']} ({runs[0][1].patches} patches), groups {sizes['groups']}, {params:,} parameters; "
          f"batch {args.batch}; device {device} ({dev}), torch {torch.__version__}, threads {torch.get_num_threads()}; "
          f"{args.rounds} interleaved rounds after {args.warmup} warm-up")
    bp = statistics.median(times["backprop"])
    ratios = {}
    print(f"{'method':<40} {'median ms':>10} {'min ms':>9} {'x backprop':>11}")
    for label in times:
        med = statistics.median(times[label])
        ratios[label] = med / bp
        print(f"{label:<40} {1e3 * med:>10.1f} {1e3 * min(times[label]):>9.1f} {ratios[label]:>11.2f}")
    if args.gpu_step_ms:
        print()
        print("\n".join(projection(args, ratios)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
