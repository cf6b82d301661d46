"""Figure 5's many replicates: one job for all of them, or one job each? And what monitoring costs.

    python benchmarks/bench_replicates.py                     # 8 replicates of a small wt_sv_power run
    python benchmarks/bench_replicates.py --replicates 16 --epochs 2 --device cuda

Side by side, on the same machine and data:
  one process   `gradguess train` of a spec with seeds 0 ... R-1 (what the pipeline runs; one by one, as a
                CPU job trains them: --batched no)
  R processes   `gradguess train --seed k`, one after another (what one job per replicate costs
                the cluster, before any queueing: each job pays the interpreter, torch and the data)
  monitoring    the same run with monitor_every 1, 10 and 100 against none
Prints the wall times and their ratios.
"""
from __future__ import annotations

import argparse
import json
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
        seeds = [str(s) for s in range(args.replicates)]

        def common(monitor_every: int = 0) -> list[str]:
            spec = {"model": {"name": "mlp", "options": {"depth": args.depth, "width": args.width}},
                    "method": {"name": "wt_sv_power", "options": {"power": 2.0}}, "dataset": args.dataset,
                    "batch_size": args.batch_size, "lr": 1e-4, "weight_decay": 0.0, "epochs": args.epochs,
                    "seeds": list(range(args.replicates)), "monitor_every": monitor_every}
            return ["--spec", json.dumps(spec), "--data-root", root, "--device", args.device, "--progress", "log"]

        gradguess(*common(), "--seed", "0", "--out", f"{tmp}/warm")  # prepares the data, warms the disk cache
        together = gradguess(*common(), "--batched", "no", "--out", f"{tmp}/one/seed{{seed}}")
        apart = sum(gradguess(*common(), "--seed", s, "--out", f"{tmp}/many/seed{s}") for s in seeds)
        print(f"{args.replicates} replicates of wt_sv_power {args.depth}x{args.width}, batch {args.batch_size}, "
              f"{args.epochs} epoch(s) of {args.dataset} on {args.device}:")
        print(f"  one process, all seeds : {together:8.1f} s")
        print(f"  one process per seed   : {apart:8.1f} s   ({apart / together:.2f}x the single process)")
        plain = gradguess(*common(), "--seed", "0", "--out", f"{tmp}/plain")
        print(f"monitoring one replicate (one backprop and {args.depth} effective ranks per measurement):")
        print(f"  no monitor             : {plain:8.1f} s")
        for every in (100, 10, 1):
            t = gradguess(*common(every), "--seed", "0", "--out", f"{tmp}/mon{every}")
            print(f"  monitor_every {every:<8} : {t:8.1f} s   ({t / plain:.2f}x)")


if __name__ == "__main__":
    main()
