"""One-shot GPU check: the estimators, the trainer and the benchmark on CUDA, and a Figure 1 trajectory.

    PYTHONPATH=src python benchmarks/device_check.py --data DATA_ROOT --out OUTDIR

DATA_ROOT must hold a prepared cifar10.pt (`gradguess data prepare`). Prints a
report and writes the Figure 1 measurements to OUTDIR/figure1_cosine.csv.
"""
from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

import torch

import gradguess.methods as M
from gradguess import data as datasets
from gradguess.analyses.guesses import MethodSpec, measure
from gradguess.models import load_model
from gradguess.models import MLP
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime
from gradguess.train import train as train_run


def run_of(root, device, depth, width, method, dataset="synthetic", checkpoint_minutes=10.0, **kw):
    spec = RunSpec(model=Part("mlp", {"depth": depth, "width": width}), method=Part(method), dataset=dataset, **kw)
    return spec, Runtime(data_root=str(root), device=str(device), checkpoint_minutes=checkpoint_minutes, progress=False)


def train(cfg, out, snapshot_dir=None, progress=False):
    spec, runtime = cfg
    return train_run(spec, 0, out, runtime, snapshot_dir=snapshot_dir)

FIG1 = ["directional", "activation_perturbation", "activation_mixing", "wt", "downstream"]


def section(title):
    print(f"\n== {title}", flush=True)


def check_math(device):
    section("estimators on CUDA: directional derivatives against backprop (float64)")
    torch.manual_seed(0)
    model = MLP(64, 10, 4, 32).double().to(device)
    x = torch.randn(16, 64, dtype=torch.float64, device=device)
    y = torch.randint(0, 10, (16,), device=device)
    h, pre = x, []
    for i, layer in enumerate(model.layers):
        s = layer(h)
        s.retain_grad()
        pre.append(s)
        h = torch.relu(s) if i < 3 else s
    torch.nn.functional.cross_entropy(h, y, reduction="sum").backward()
    grads = [s.grad for s in pre]
    model.zero_grad()
    gen = torch.Generator(device=device).manual_seed(0)
    for name in M.names():
        est = M.get(name)
        if isinstance(est, M.ActivationGuess):
            for mode in M.MODES:
                _, guesses, d = M.get(name, mode=mode).probe(model, x, y, gen)
                per = torch.stack([(g * e).sum(1) for g, e in zip(grads, guesses)])
                ref = per.sum(0) if mode == "joint" else per
                print(f"{name:28s} {mode:9s} max |d - <grad, v>| = {float((d - ref).abs().max()):.2e}")
        out = est.estimate(model, x, y, gen)
        assert all(torch.isfinite(v).all() and v.device.type == device.type for v in out.values()), name
    cpu = MLP(64, 10, 4, 32).double()
    cpu.load_state_dict({k: v.cpu() for k, v in model.state_dict().items()})
    a, b = M.get("backprop").estimate(model, x, y), M.get("backprop").estimate(cpu, x.cpu(), y.cpu())
    print("backprop CUDA vs CPU max diff", max(float((a[k].cpu() - b[k]).abs().max()) for k in a))


def check_training(device, root: Path, work: Path):
    section("training on CUDA: every method, 2 epochs on synthetic data")
    datasets.prepare("synthetic", root)
    for name in M.names():
        opt = "stable_adamw" if name == "self_sharpening" else "adamw"
        cfg = run_of(root, device, 3, 128, name, optimizer=opt, lr=1e-3, epochs=2)
        t = time.time()
        r = train(cfg, work / name, progress=False)
        print(f"{name:28s} {opt:12s} status {r['status']} train {r['train_acc']:.3f} test {r['test_acc']:.3f} "
              f"({time.time() - t:.1f} s)", flush=True)
    section("resume on CUDA")
    cfg = run_of(root, device, 3, 128, "wt", lr=1e-3, epochs=3, checkpoint_minutes=0)
    train(cfg, work / "full", progress=False)
    import gradguess.train as train_mod

    real, calls = train_mod.evaluate, {"n": 0}

    def killed_in_epoch_two(*args, **kwargs):  # the job dies after epoch 1's checkpoint
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    train_mod.evaluate = killed_in_epoch_two
    try:
        train(cfg, work / "cut", progress=False)
    except KeyboardInterrupt:
        pass
    train_mod.evaluate = real
    train(cfg, work / "cut", progress=False)
    a = torch.load(work / "full" / "weights.pt", weights_only=True)["state"]
    b = torch.load(work / "cut" / "weights.pt", weights_only=True)["state"]
    print("resumed vs uninterrupted: max |dW| =", max(float((a[k] - b[k]).abs().max()) for k in a),
          "bit-identical" if all(torch.equal(a[k], b[k]) for k in a) else "")


def figure1(device, root: Path, work: Path, out: Path, epochs: int, every: int, batches: int):
    section(f"Figure 1 trajectory: 6x1024 MLP, CIFAR-10 subset, AdamW 1e-4, batch 512, {epochs} epochs")
    cfg = run_of(root, device, 6, 1024, "backprop", dataset="cifar10", lr=1e-4, batch_size=512, epochs=epochs)
    t = time.time()
    r = train(cfg, work / "traj", snapshot_dir=work / "traj" / "snaps", progress=False)
    print(f"trajectory trained in {time.time() - t:.1f} s; train {r['train_acc']:.3f} test {r['test_acc']:.3f}")
    data = datasets.load("cifar10", root, device=device)
    specs = [MethodSpec.parse(m) for m in FIG1]
    rows = []
    t = time.time()
    for epoch in range(0, epochs + 1, every):
        model = load_model(work / "traj" / "snaps" / f"epoch_{epoch:04d}.pt", device)
        for row in measure(model, data.x_train, data.y_train, specs, list(M.MODES), batches, 512, seed=0, epoch=epoch):
            rows.append({"epoch": epoch, **row})
    print(f"measured {len(rows)} rows in {time.time() - t:.1f} s")
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with open(out / "figure1_cosine.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    summary = {}
    for r in rows:
        summary.setdefault((r["method"], r["mode"]), []).append(r)
    print("| method | mode | cosine mean ± std | 1-step raw | 1-step norm-matched |")
    for (m, mode), rs in summary.items():
        c = torch.tensor([x["cosine"] for x in rs])
        e = torch.tensor([x["one_step_effectiveness"] for x in rs])
        n = torch.tensor([x["one_step_effectiveness_norm_matched"] for x in rs])
        print(f"| {m} | {mode} | {c.mean():.4f} ± {c.std():.4f} | {e.mean():.2e} ± {e.std():.2e} "
              f"| {n.mean():.2e} ± {n.std():.2e} |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--batches", type=int, default=4)
    p.add_argument("--device", default="cuda")
    p.add_argument("--skip-bench", action="store_true")
    args = p.parse_args()
    device = torch.device(args.device)
    print("torch", torch.__version__, torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path("/tmp/gradguess-device")
    check_math(device)
    check_training(device, Path(args.data), work)
    if not args.skip_bench:
        section("step benchmark")
        subprocess.run([sys.executable, str(Path(__file__).with_name("bench_step.py")), "--device", str(device),
                        "--rounds", "10", "--steps", "10"], check=True)
    figure1(device, Path(args.data), work, out, args.epochs, args.every, args.batches)


if __name__ == "__main__":
    main()
