"""Disk a configuration's results tree needs: measured sizes of real files, times the number of runs.

    python benchmarks/disk_usage.py                      # config.yaml (the paper)
    python benchmarks/disk_usage.py presets/quick.yaml   # a preset on top of it

Finished runs keep their final weights (weights.pt) and small CSV/JSON files;
a checkpoint (weights + optimizer state + RNG, ~3x the weights) exists only
while a run is unfinished, so the peak adds one per run being trained at once.
Trajectories keep a snapshot of the weights after every epoch.
"""
from __future__ import annotations

import io
import sys
from pathlib import Path

import torch
import yaml

from gradguess.catalog import SHAPES, SIZES
from gradguess.models import MLP
from gradguess.optim import make_optimizer

REPO = Path(__file__).resolve().parents[1]


def saved_bytes(obj) -> int:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.tell()


def sizes(dataset: str, depth: int, width: int) -> tuple[int, int]:
    c, h, w = SHAPES[dataset]
    model = MLP(c * h * w, 100 if dataset == "cifar100" else 10, depth, width)
    opt = make_optimizer("adamw", model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    weights = saved_bytes(model.state_dict())
    checkpoint = saved_bytes({"model": model.state_dict(), "optimizer": opt.state_dict()})
    return weights, checkpoint


def merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return out


def main(presets: list[str]) -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    for p in presets:
        config = merge(config, yaml.safe_load(Path(p).read_text()))
    t, seeds = config["table2"], len(config["seeds"])
    gib = 2 ** 30
    rows, total, peak_ckpt = [], 0, 0
    for dataset in t["datasets"]:
        for arch in t["architectures"]:
            w, ckpt = sizes(dataset, arch["depth"], arch["width"])
            n = len(t["methods"]) * seeds
            rows.append((f"table2 {dataset} d{arch['depth']}-w{arch['width']}", n, w * n))
            total += w * n
            peak_ckpt = max(peak_ckpt, ckpt)
    traj = config["trajectory"]
    w, ckpt = sizes(traj["dataset"], traj["depth"], traj["width"])
    snaps = (traj["epochs"] + 1) * w
    rows.append((f"trajectory snapshots ({traj['epochs'] + 1} epochs)", 1, snaps))
    total += snaps
    data = sum((SIZES[d][0] + SIZES[d][1]) * (torch.tensor(SHAPES[d]).prod().item() + 8)
               for d in set(t["datasets"]) | {traj["dataset"]})
    rows.append(("prepared datasets (uint8 images, int64 labels)", 1, data))
    total += data
    print(f"| what | runs | GiB |\n|---|---:|---:|")
    for name, n, b in rows:
        print(f"| {name} | {n} | {b / gib:.2f} |")
    print(f"| **total, finished** |  | **{total / gib:.1f}** |")
    print(f"\nlargest checkpoint of an unfinished run: {peak_ckpt / 2**20:.0f} MiB "
          f"(times the runs training at once; deleted when a run finishes)")


if __name__ == "__main__":
    main(sys.argv[1:])
