"""Figure 5's many replicates: one job for all of them, or one job each? And what monitoring costs.

    python benchmarks/bench_replicates.py                     # 8 replicates of a small wt_sv_power run
    python benchmarks/bench_replicates.py --replicates 16 --epochs 2 --device cuda

Side by side, on the same machine and data:
  one process   `gradguess train --seed 0 1 ... R-1` (what the pipeline runs)
  R processes   `gradguess train --seed k`, one after another (what one job per replicate costs
                the cluster, before any queueing: each job pays the interpreter, torch and the data)
  monitoring    the same run with --monitor-every 1, 10 and 100 against none
Prints the wall times and their ratios.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def gradguess(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "gradguess", "-q", "train", *args], check=True,
                   env={**os.environ, "GRADGUESS_CHECKPOINT_MINUTES": "1000"})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--depth", type=int, default=6)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dataset", default="synthetic")
    parser.add_argument("--data-root", default=None, help="default: a temporary directory (synthetic data)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_root or str(Path(tmp) / "data")
        common = ["--dataset", args.dataset, "--data-root", root, "--method", "wt_sv_power", "--method-option",
                  "power=2", "--depth", str(args.depth), "--width", str(args.width), "--batch-size",
                  str(args.batch_size), "--lr", "1e-4", "--weight-decay", "0", "--epochs", str(args.epochs),
                  "--device", args.device, "--progress", "log"]
        gradguess(*common, "--seed", "0", "--out", f"{tmp}/warm")  # prepares the data, warms the disk cache
        seeds = [str(s) for s in range(args.replicates)]
        together = gradguess(*common, "--seed", *seeds, "--out", f"{tmp}/one/seed{{seed}}")
        apart = sum(gradguess(*common, "--seed", s, "--out", f"{tmp}/many/seed{s}") for s in seeds)
        print(f"{args.replicates} replicates of wt_sv_power {args.depth}x{args.width}, batch {args.batch_size}, "
              f"{args.epochs} epoch(s) of {args.dataset} on {args.device}:")
        print(f"  one process, all seeds : {together:8.1f} s")
        print(f"  one process per seed   : {apart:8.1f} s   ({apart / together:.2f}x the single process)")
        plain = gradguess(*common, "--seed", "0", "--out", f"{tmp}/plain")
        print(f"monitoring one replicate (one backprop and {args.depth} effective ranks per measurement):")
        print(f"  no monitor             : {plain:8.1f} s")
        for every in (100, 10, 1):
            t = gradguess(*common, "--seed", "0", "--monitor-every", str(every), "--out", f"{tmp}/mon{every}")
            print(f"  --monitor-every {every:<6} : {t:8.1f} s   ({t / plain:.2f}x)")


if __name__ == "__main__":
    main()
