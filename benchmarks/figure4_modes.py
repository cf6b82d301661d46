"""Figure 4 (left) in both JVP modes after a given number of backprop steps: where each method's averaged
cosine stands at 1024 and at the most guesses, and W^T's limit (the cosine of its mean estimate).

    python benchmarks/figure4_modes.py --data-root DIR --dataset cifar10 --steps 20 98 --examples 2

Trains the paper's 6x1024 MLP with AdamW (lr 1e-4, batch 512) for the largest step count, measuring at each
count on the way; prints one line per (steps, method, mode). Quoted in
docs/results.md#figure-4-left-which-jvp-mode-averages-measured.
"""
from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from gradguess import data as datasets
from gradguess import methods
from gradguess.analyses.averaging import averaging
from gradguess.models import build_seeded
from gradguess.optim import make_optimizer


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data-root", required=True)
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--steps", type=int, nargs="+", default=[20, 98])
    p.add_argument("--examples", type=int, default=2)
    p.add_argument("--max-guesses", type=int, default=8192)
    p.add_argument("--methods", nargs="+", default=["wt", "activation_mixing", "activation_perturbation",
                                                    "downstream"])
    p.add_argument("--out", default=None, help="CSV of every curve")
    args = p.parse_args()
    torch.manual_seed(0)
    data = datasets.load(args.dataset, args.data_root)
    model = build_seeded(data.in_features, data.num_classes, 6, 1024, seed=0)
    opt = make_optimizer("adamw", model.parameters(), 1e-4)
    gen = torch.Generator().manual_seed(1)
    backprop, step, frames = methods.get("backprop"), 0, []
    print(f"{args.dataset}: {len(data.x_train)} training examples; 6x1024, AdamW 1e-4, batch 512")
    for target in sorted(args.steps):
        while step < target:
            idx = torch.randint(len(data.x_train), (512,), generator=gen)
            for name, g in backprop.estimate(model, data.x_train[idx], data.y_train[idx]).items():
                dict(model.named_parameters())[name].grad = g
            opt.step()
            step += 1
        t0 = time.time()
        rows = averaging(model, data.x_train, data.y_train, [(m, {}) for m in args.methods], args.examples,
                         args.max_guesses, 512, chunk=1024, seed=0, modes=("joint", "per_layer"))
        df = pd.DataFrame(rows).assign(steps=step)
        frames.append(df)
        for (method, mode), g in df.groupby(["method", "mode"]):
            c = g.groupby("guesses")["cosine"].mean()
            near = min(c.index, key=lambda n: abs(n - 1024))
            limit = f", limit {g['limit'].mean():.3f}" if "limit" in g and g["limit"].notna().any() else ""
            print(f"steps {step:4d}  {method:24s} {mode:9s} cos@{near} {c.loc[near]:.3f} -> "
                  f"cos@{c.index.max()} {c.iloc[-1]:.3f}{limit}", flush=True)
        print(f"  ({time.time() - t0:.0f} s)", flush=True)
    if args.out:
        pd.concat(frames).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
