"""Measuring this machine's step times for the shapes a plan uses (`gradguess cost --calibrate`), within a time
budget: the costliest shapes first, each step as the trainer takes it (one estimate and one optimizer update on
a random batch of the data's shape; data loading excluded), a shape whose step would be too slow measured at a
smaller batch (the calibration scales it back by FLOPs), whatever does not fit the budget skipped and listed.
Also: the launch floor (the tiniest step), a monitor measurement and a Figure 1 estimate where the plan has
them. Replicate batching is not measured here: its CPU throughput is benchmarks/bench_batched.py's, on the
trainer's own batched step, and the cost model assumes its speedup from the launch floor.
"""
from __future__ import annotations

import json
import math
import os
import platform
import time
from dataclasses import dataclass, field
from typing import NamedTuple
from datetime import date
from pathlib import Path

import torch

from gradguess import calibration as cal
from gradguess import methods, models
from gradguess.calibration import shapes
from gradguess.catalog import NUM_CLASSES, SHAPES
from gradguess.optim import make_optimizer
from gradguess.spec import Part


# a family's step against backprop's, roughly, to skip what would overrun the budget (a Figure 1 estimate runs
# 16 float64 loss evaluations; a monitor measurement a backprop and an SVD per layer)
COST_GUESS = {"backprop": 1, "figure1_estimate": 40, "monitor": 4}


@dataclass
class Target:
    model: str
    options: dict
    dataset: str
    batch: int
    families: dict = field(default_factory=dict)   # family -> method options to measure it with
    weight: float = 0.0                             # the plan's FLOPs at this shape: what to measure first

    def flops(self, batch=None) -> float:
        return shapes.step_flops(self.model, self.options, self.dataset, batch or self.batch)


def targets(plan) -> list[Target]:
    """Every (model shape, data shape, batch) the plan trains, with the method families it trains them with,
    the costliest first; Figure 1's estimate at its trajectory and batch where the plan measures Figure 1."""
    found: dict[tuple, Target] = {}
    for spec in [*plan.runs.values(), *plan.trajectories.values()]:
        o = dict(spec.model.options)
        key = (cal.shape_key(spec.model.name, o, spec.dataset), spec.batch_size)
        t = found.setdefault(key, Target(spec.model.name, o, spec.dataset, spec.batch_size))
        if spec.dataset == "cifar10":
            t.dataset = spec.dataset  # of the data sets of one shape, name entries by the paper's main one
        options = {k: v for k, v in spec.method.options.items() if v != "auto"}  # 'auto' is resolved by a job
        t.families.setdefault(cal.family(spec.method.name, options), options)
        if spec.monitor_every:
            t.families.setdefault("monitor", {})
        t.weight += t.flops() * spec.epochs * len(spec.seeds)
    if "figure1" in plan.figures and plan.lists.get("trajectory"):
        traj, f1 = plan.trajectories[plan.lists["trajectory"]], plan.config["figure1"]
        o = dict(traj.model.options)
        key = (cal.shape_key("mlp", o, traj.dataset), f1["batch_size"])
        t = found.setdefault(key, Target("mlp", o, traj.dataset, f1["batch_size"]))
        t.families.setdefault("figure1_estimate", {})
    for t in found.values():  # backprop first: every other family is a ratio to it
        t.families = {"backprop": {}, **t.families}
    return sorted(found.values(), key=lambda t: -t.weight)


def _method(family: str, options: dict):
    name = family.split(":")[0].split("+")[0]
    extra = {"mode": "per_layer"} if ":per_layer" in family else {}
    extra.update({"local_losses": True} if family.endswith("+local") else {})
    return methods.get(name, **{**options, **extra})


class Bench:
    """One shape on one device: a model, its optimizer and a random batch."""

    def __init__(self, target: Target, batch: int, device: torch.device):
        torch.manual_seed(0)
        shape = SHAPES[target.dataset]
        self.device = device
        self.model = models.build(Part(target.model, target.options), shape, NUM_CLASSES[target.dataset], 0).to(device)
        self.x = torch.randn(batch, *shape, device=device)
        self.y = torch.randint(0, NUM_CLASSES[target.dataset], (batch,), device=device)
        self.gen = torch.Generator(device=device).manual_seed(0)

    def stepper(self, family: str, options: dict):
        """A function taking one step of `family`: an estimate and an AdamW update, a monitor measurement, or one
        Figure 1 estimate (its cosine and its loss evaluations)."""
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        if family == "monitor":
            from gradguess.monitor import Monitor

            layers = sum(1 for n, _ in self.model.named_parameters() if n.endswith(".weight"))
            monitor, est = Monitor(1, os.devnull, layers), methods.get("wt")
            return lambda: monitor.observe(0, 0, self.model, self.x, self.y,
                                           est.estimate(self.model, self.x, self.y, self.gen))
        if family == "figure1_estimate":
            from gradguess.analyses.guesses import MethodSpec, measure

            # backprop's pass and one method's: two estimates a call
            return lambda: measure(self.model, self.x, self.y, [MethodSpec("wt")], ["joint"], 1, len(self.x))
        est = _method(family, options)
        opt = make_optimizer("adamw", trainable, 1e-4)
        names = dict(self.model.named_parameters())

        def step():
            grads = est.estimate(self.model, self.x, self.y, self.gen)
            for n, g in grads.items():
                names[n].grad = g
            opt.step()
        return step

    def seconds(self, fn, steps: int, at_least: float = 0.5) -> "Timing":
        return timed(fn, steps, self.device, at_least)


def others_busy() -> float | None:
    """CPU seconds every other process has used so far (Linux: /proc/stat less this process), to tell a quiet
    measurement from one that shared the cores; None where the system does not say."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    mine = os.times()
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK") - mine.user - mine.system


class Timing(NamedTuple):
    seconds: float
    others: float | None  # the share of the machine's cores other processes used meanwhile


def once(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t


def timed(fn, steps: int, device, at_least: float = 0.0) -> Timing:
    """The fastest of timed calls after one or two untimed ones (allocations, lazy initialisation): `steps` of them,
    and more while they add up to under `at_least` seconds (short steps are noisy), at most 200. The fastest, not
    the median: other processes on a shared machine only ever slow a step down, so the minimum is the nearest to
    what the machine does on its own (a cluster job's cores); how busy the others were is returned with it."""
    if once(fn, device) < 0.1:
        once(fn, device)  # a short step: a second warm-up call, its caches still settling
    times, busy, start = [], others_busy(), time.perf_counter()
    while len(times) < steps or (sum(times) < at_least and len(times) < 200):
        times.append(once(fn, device))
    after = others_busy()
    share = None if busy is None or after is None else \
        max(0.0, after - busy) / ((time.perf_counter() - start) * (os.cpu_count() or 1))
    return Timing(min(times), share)


def quiet(measure, tries: int = 3, busy: float = 0.2, wait: float = 5.0, until: float = math.inf,
          log=print) -> Timing:
    """A measurement taken again (after `wait` s) while other processes used more than `busy` of the cores, at
    most `tries` times and not past `until` (time.monotonic()); the fastest."""
    best = None
    for k in range(tries):
        t = measure()
        best = t if best is None or t.seconds < best.seconds else best
        if t.others is None or t.others <= busy or k == tries - 1 or time.monotonic() + 2 * wait > until:
            break
        log(f"  (other processes used {t.others:.0%} of the cores: measuring again in {wait:g} s)")
        time.sleep(wait)
    return best


def _device_name(device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine()
    try:  # Linux names the processor model
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    return f"{name} ({platform.machine()}), {os.cpu_count()} cores, {torch.get_num_threads()} threads"


def calibrate(plan, out, device: str = "cpu", budget: float = 120.0, steps: int = 3, max_step: float = 2.0,
              log=print) -> dict:
    """Measure, write `out` (merged into it where it is a calibration of this device: what is not measured now
    is kept) and return the file's contents."""
    dev = torch.device(device)
    kind = "cpu" if dev.type == "cpu" else "".join(ch for ch in torch.cuda.get_device_name(dev).lower()
                                                   if ch.isalnum()).removeprefix("nvidia")
    today, start, load0 = date.today().isoformat(), time.monotonic(), os.getloadavg()[0]
    entries, skipped = [], []
    if dev.type == "cpu" and load0 >= (os.cpu_count() or 1):
        log(f"warning: this machine is busy (load average {load0:.1f} on {os.cpu_count()} cores): other processes "
            "slow every step down; calibrate on a quiet machine for its own speed")

    def left():
        return budget - (time.monotonic() - start)

    def entry(t: Target, family, batch, timing: Timing, how, scale=1.0):
        busy = "" if timing.others is None else f"; other processes used {timing.others:.0%} of the cores meanwhile"
        entries.append({"model": t.model, "options": dict(t.options), "dataset": t.dataset, "method": family,
                        "batch": batch, "replicates": 1, "seconds": timing.seconds * scale, "date": today,
                        "torch": torch.__version__, "device_name": _device_name(dev), "how": how + busy})
        log(f"  {cal.entry_key(t.model, t.options, t.dataset, family, batch)}: "
            f"{timing.seconds * scale * 1e3:.4g} ms{busy}")

    tiny = Bench(Target("mlp", {"depth": 2, "width": 8}, "synthetic", 8), 8, dev)
    floor = quiet(lambda: tiny.seconds(tiny.stepper("backprop", {}), 20), until=start + budget, log=log)
    how = (f"gradguess cost --calibrate: the fastest of at least {steps} steps (more, up to 200, while under 0.5 s) "
           "after one or two untimed ones, measured again while other processes were busy; random data")
    for t in targets(plan):
        bench, batch = None, t.batch
        while batch >= 8:  # the plan's batch, or a smaller one where a step would take too long
            bench = Bench(t, batch, dev)
            if left() <= 0 or once(bench.stepper("backprop", {}), dev) <= max_step:
                break
            batch //= 2
        what = cal.entry_key(t.model, t.options, t.dataset, "*", t.batch)
        if batch < 8 or left() <= 0:
            skipped.append(f"{what}: " + ("out of time" if left() <= 0 else f"a step takes over {max_step} s"))
            continue
        note = how + (f"; at batch {batch}, not the plan's {t.batch}: a step there took over {max_step} s"
                      if batch != t.batch else "")
        base = None
        for family, options in t.families.items():
            expected = max(0.5, (base or 0.01) * (2 + steps) * COST_GUESS.get(family, 3))
            if expected > left():
                skipped.append(f"{cal.entry_key(t.model, t.options, t.dataset, family, batch)}: out of time "
                               f"(about {expected:.0f} s; {max(left(), 0):.0f} s left)")
                continue
            try:
                fn = bench.stepper(family, options)
                timing = quiet(lambda: bench.seconds(fn, steps), until=start + budget, log=log)
            except (ValueError, RuntimeError) as exc:  # a family this model cannot run
                skipped.append(f"{cal.entry_key(t.model, t.options, t.dataset, family, batch)}: {exc}")
                continue
            base = base or timing.seconds
            first = family == "figure1_estimate"  # two estimates a call: backprop's and W^T's
            entry(t, family, batch, timing, note + ("; a measurement: backprop and W^T's estimate, each with its "
                                                    "cosine and loss evaluations, per estimate" if first else ""),
                  scale=0.5 if first else 1.0)
    load = f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    data = _merge(out, kind, dev, entries, floor.seconds, how, load)
    data["skipped"] = skipped
    Path(out).write_text(json.dumps(data, indent=1) + "\n")
    cal.load.cache_clear()
    cal.parse(data, str(out))  # what we wrote reads back
    for s in skipped:
        log(f"  skipped {s}")
    log(f"{len(entries)} entries measured in {time.monotonic() - start:.0f} s ({load}); wrote {out}")
    return data


def _merge(out, kind, dev, entries, floor, how, load) -> dict:
    """The file's new contents: these measurements, then what an existing calibration of this device has that
    was not measured again (its entries, ratios, kind factors, batching)."""
    old = {}
    if Path(out).is_file():
        old = json.loads(Path(out).read_text())
        if old.get("device") != kind:
            raise cal.CalibrationError(f"{out} is a calibration of {old.get('device')!r}, not of this {kind!r}: "
                                       "give another --out")
    keys = {cal.entry_key(e["model"], e["options"], e["dataset"], e["method"], e["batch"], e["replicates"])
            for e in entries}
    kept = [e for e in old.get("entries", []) if cal.entry_key(e["model"], e["options"], e["dataset"], e["method"],
                                                               e["batch"], e.get("replicates", 1)) not in keys]
    data = {"format": cal.FORMAT, "device": kind, "device_name": _device_name(dev), "gpu": dev.type == "cuda",
            "overhead": {"seconds": floor, "source": f"measured {date.today().isoformat()}: the fastest step of a "
                                                    f"2x8 MLP at batch 8 ({how}); {load}"},
            "measured": f"{date.today().isoformat()}, torch {torch.__version__}, {load}",
            "entries": entries + kept}
    for key in ("ratios", "kind_factors", "batching", "notes"):
        if key in old:
            data[key] = old[key]
    return data
