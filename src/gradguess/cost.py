"""What a configuration costs, per rule and in total: jobs, SLURM submissions after grouping, optimizer steps,
projected device-hours and disk. Torch-free: the plan (gradguess.plan) says which jobs there are, submissions.py
how they reach the scheduler, jobsize.py how long each takes from a calibration (gradguess.calibration), so the
table adds up the very jobs `gradguess plan --jobs` lists and the workflow submits.

Hours are projections without the safety margin of the cluster requests (jobsize.SAFETY): start-up, steps,
evaluation and monitor measurements; queueing is not counted. Each rule says how good its projections are: how
many of its jobs rest on measured step times, on extrapolated ones (another shape or batch of the same model
kind), and on assumed ones (a ratio, a model kind or a batching speedup never measured on this device).

Batching (`batching=True`): as the workflow does it (gradguess.schedule, gradguess.batching.seeds_batch), an MLP
run's seeds train in its one job as one batched model, up to `max_replicates` of them; its step costs the
calibration's batched step (measured, or an assumed speedup).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradguess import calibration as cal
from gradguess import jobsize, submissions
from gradguess.calibration import shapes
from gradguess.catalog import SHAPES, SIZES
from gradguess.plan import Plan
from gradguess.spec import RunSpec

ORDER = ("train", "train_replicates", "train_seed", "train_chunk", "capture_trajectory",
         "measure_guesses", "average_guesses", "measure_subspace", "class_images", "jacobian_spectra")
FIXED_REQUEST = {"measure_subspace": 30, "class_images": 30, "jacobian_spectra": 30}  # minutes (their .smk)
FIXED_GROUPS = ("measure_guesses",)  # rules whose every job joins its group (figure1.smk)


@dataclass
class RuleCost:
    rule: str
    jobs: int = 0
    submissions: int = 0
    steps: int = 0
    seconds: float = 0.0
    disk: int = 0                                   # bytes a finished run leaves
    basis: dict = field(default_factory=dict)       # measured / extrapolated / assumed / request -> jobs
    note: str = ""

    def add(self, row: dict) -> None:
        self.jobs += 1
        self.steps += row.get("steps", 0)
        self.seconds += row["seconds"]
        self.disk += row.get("disk", 0)
        self.basis[row["basis"]] = self.basis.get(row["basis"], 0) + 1


@dataclass
class Cost:
    device: str
    calibration: str
    batching: bool
    rules: list[RuleCost]
    groups: list[RuleCost]
    local: list[RuleCost]
    estimates: dict                                 # step key -> calibration.Estimate, every one used
    peak_checkpoint: int
    notes: list[str] = field(default_factory=list)

    def total(self) -> RuleCost:
        t = RuleCost("total")
        for r in self.rules + self.local:
            t.jobs, t.steps, t.seconds, t.disk = t.jobs + r.jobs, t.steps + r.steps, t.seconds + r.seconds, \
                t.disk + r.disk
            for k, v in r.basis.items():
                t.basis[k] = t.basis.get(k, 0) + v
        t.submissions = sum(r.submissions for r in self.rules + self.groups)
        return t


def weights_bytes(spec: RunSpec) -> int:
    """A weights file: float32 trainable tensors and a little pickle around them (benchmarks/disk_usage.py
    measures 28 MiB for the 6x1024 CIFAR-10 MLP: 7.36 M parameters)."""
    return 4 * shapes.params(spec.model.name, spec.model.options, spec.dataset) + 4096


def steps_of(spec: RunSpec, replicates: int) -> int:
    return replicates * spec.epochs * math.ceil(SIZES[spec.dataset][0] / spec.batch_size)


# ---- the training jobs, with and without batching
def _train_row(row: dict, c: cal.Calibration, estimates: dict, batched: bool = False) -> dict:
    spec = row["job"]
    n = len(spec.seeds)
    est = jobsize.spec_seconds(spec, c.gpu, c, batched=batched)
    fam, r = cal.family(spec.method.name, spec.method.options), n if batched else 1
    # the step spec_seconds used (Calibration.step caches it), listed by --steps
    key = cal.entry_key(spec.model.name, spec.model.options, spec.dataset, fam, spec.batch_size, r)
    estimates[key] = c.step(spec.model.name, spec.model.options, spec.dataset, fam, spec.batch_size, r)
    keeps = 0 if row["rule"] == "train_chunk" else n  # a chunk's state is a temporary file
    snapshots = spec.epochs + 1 if row["rule"] == "capture_trajectory" else 0
    return dict(row, seconds=est.seconds, basis=est.basis, steps=steps_of(spec, n),
                disk=(keeps + snapshots) * weights_bytes(spec))


# ---- the measurements at fixed weights
def measurement_rows(plan: Plan, c: cal.Calibration, limit: float, estimates: dict) -> list[dict]:
    """Figure 1's measurements (one job per checkpoint), Figure 4's guess averaging, and the analyses not
    modelled (at their fixed request)."""
    cfg, out = plan.config, []
    gpu = 1 if c.gpu else 0

    def row(rule, run, est, minutes=None):
        minutes = minutes if minutes is not None else jobsize.request_minutes(est.seconds)
        out.append({"rule": rule, "run": run, "seeds": "", "chunk": "", "epochs": "", "minutes": min(limit, minutes),
                    "mem_mb": 8000, "gpus": gpu, "seconds": est.seconds, "basis": est.basis})

    traj = plan.trajectories.get(plan.lists.get("trajectory"))
    if traj is not None and "figure1" in plan.figures:
        f1, o = cfg["figure1"], traj.model.options
        key = cal.entry_key("mlp", o, traj.dataset, "figure1_estimate", f1["batch_size"])
        estimates[key] = c.step("mlp", o, traj.dataset, "figure1_estimate", f1["batch_size"])
        est = jobsize.measure_seconds(traj.dataset, o["depth"], o["width"], f1["batches"], f1["batch_size"],
                                      jobsize.figure1_estimates(f1), calibration=c)
        for epoch in plan.lists["figure1_epochs"]:
            row("measure_guesses", f"epoch {epoch}", est)
    if traj is not None and "figure4" in plan.figures:
        o = traj.model.options
        row("average_guesses", "figure4", jobsize.analysis_seconds(
            traj.dataset, o["depth"], o["width"], jobsize.averaging_passes(cfg["figure4"]), calibration=c))
    fixed = {"measure_subspace": sorted(set(plan.lists.get("figure2", {}).values())
                                        | set(plan.lists.get("figure10", {}).values())),
             "class_images": [plan.lists["figure2_left"]] if plan.lists.get("figure2_left") else [],
             "jacobian_spectra": [plan.lists["jacobian"]] if plan.lists.get("jacobian") and "figure7" in plan.figures
             else []}
    for rule, runs in fixed.items():
        for run in runs:  # not modelled: counted at their request, an upper bound
            row(rule, run, cal.Estimate(60 * FIXED_REQUEST[rule], "request", "its fixed request"),
                FIXED_REQUEST[rule])
    return out


def datasets_bytes(plan: Plan) -> int:
    """The prepared tensor files: uint8 images and int64 labels (benchmarks/disk_usage.py's count)."""
    used = {s.dataset for s in [*plan.runs.values(), *plan.trajectories.values()]}
    return sum((SIZES[d][0] + SIZES[d][1]) * (math.prod(SHAPES[d]) + 8) for d in used)


def build(plan: Plan, c: cal.Calibration, groups: dict[str, int], batching: bool = False,
          max_replicates: int = 64) -> Cost:
    """The cost of a plan on the device `c` calibrates; `groups`: the workflow profile's group-components."""
    cfg = plan.config
    limit = 60 * cfg["execution"]["max_job_hours"]
    estimates: dict = {}
    settings = {"max_replicates": max_replicates, "devices": {"gpu": batching, "cpu": batching}}
    train = submissions.training_jobs(plan, limit, c.gpu, c, settings)
    rows = [_train_row(r, c, estimates, batched=r.get("batched", False)) for r in train]
    rows += measurement_rows(plan, c, limit, estimates)
    fixed = {g: groups.get(g, 1) for g in FIXED_GROUPS}
    subs = submissions.submissions(rows, cfg["resources"]["short_job_minutes"],
                                   groups.get(submissions.SHORT_GROUP, 1), limit, fixed)
    per_rule = {name: RuleCost(name) for name in ORDER}
    for r in rows:
        per_rule.setdefault(r["rule"], RuleCost(r["rule"])).add(r)
    group_costs: dict[str, RuleCost] = {}
    for s in subs:
        if s["rule"].startswith("group "):
            g = group_costs.setdefault(s["rule"], RuleCost(s["rule"]))
            g.submissions += 1
            g.jobs += s["jobs"]
        else:
            per_rule[s["rule"]].submissions += 1
    local = [RuleCost("prepare_data", disk=datasets_bytes(plan), note="local rule (login node)"),
             RuleCost("figures, tables, reports", note=f"local rules: {len(plan.figures)} figures and tables")]
    checkpoints = [3 * weights_bytes(s) for s in plan.runs.values()] or [0]
    cost = Cost(c.device_name or c.device, c.path, batching, [r for r in per_rule.values() if r.jobs],
                sorted(group_costs.values(), key=lambda g: g.rule), local, estimates, max(checkpoints))
    cost.notes = _notes(cost, c, limit, batching, max_replicates)
    return cost


def _notes(cost: Cost, c: cal.Calibration, limit: float, batching: bool, max_replicates: int) -> list[str]:
    notes = [f"Calibration: {c.path} ({c.device_name or c.device}); step launch floor {c.overhead * 1e3:.3g} ms "
             f"({c.overhead_source}).",
             f"Hours are projections without the {jobsize.SAFETY:g}x margin of the SLURM requests; jobs never ask "
             f"for more than execution.max_job_hours ({limit / 60:g} h), runs longer than that are split "
             f"(train_seed, train_chunk). measure_subspace, class_images and jacobian_spectra are not modelled: "
             f"counted at their fixed {FIXED_REQUEST['measure_subspace']}-minute request (an upper bound).",
             f"While a run trains it keeps a checkpoint beside its results (weights, optimizer state, RNG), up to "
             f"{cost.peak_checkpoint / 2**20:.0f} MiB each, deleted when it finishes: not in the disk column."]
    if batching:
        notes.append(f"Batching: an MLP run's seeds (2 to {max_replicates}) train in its job as one batched model, "
                     f"as the workflow does it; runs are not grouped with each other. A batched step is R "
                     f"replicates' steps over the speedup a calibration entry with replicates > 1 measured for backprop "
                     f"(at the nearest shape), else its batching.speedup, {c.speedup[0]:g} (assumed).")
    return notes


# ---- the table



def _basis(r: RuleCost) -> str:
    return ", ".join(f"{k} {r.basis[k]}" for k in (*cal.BASES, "request") if r.basis.get(k))


def records(cost: Cost) -> list[dict]:
    """One record per rule line, group line, local line and the total (the tsv format's rows)."""
    out = []
    for kind, lines in (("rule", cost.rules), ("group", cost.groups), ("local", cost.local),
                        ("total", [cost.total()])):
        for r in lines:
            out.append({"rule": r.rule, "kind": kind, "jobs": r.jobs, "submissions": r.submissions, "steps": r.steps,
                        "device_hours": r.seconds / 3600, "disk_gib": r.disk / 2**30,
                        "basis": _basis(r) if kind != "group" else f"{r.jobs} jobs of the rules above",
                        "note": r.note})
    return out


def markdown(cost: Cost) -> str:
    head = (f"**{cost.device}**, {'with' if cost.batching else 'without'} replicate batching "
            f"(calibration `{cost.calibration}`)\n\n"
            "| rule | jobs | SLURM submissions | optimizer steps | device-hours | disk (GiB) "
            "| projected from (jobs) |\n"
            "|---|---:|---:|---:|---:|---:|---|")
    lines = [head]
    for r in records(cost):
        bold = "**" if r["kind"] == "total" else ""
        jobs = f"({r['jobs']})" if r["kind"] == "group" else (f"{r['jobs']:,}" if r["jobs"] else "")
        hours = f"{r['device_hours']:,.1f}" if r["kind"] in ("rule", "total") else ""
        steps = f"{r['steps']:,}" if r["steps"] else ""
        disk = f"{r['disk_gib']:.2f}" if r["disk_gib"] else ""
        subs = f"{r['submissions']:,}" if r["kind"] != "local" else "local"
        basis = r["basis"] or r["note"]
        lines.append(f"| {bold}{r['rule']}{bold} | {jobs} | {bold}{subs}{bold} | {steps} | {bold}{hours}{bold} | "
                     f"{disk} | {basis} |")
    lines.append("")
    lines += [f"- {n}" for n in cost.notes]
    return "\n".join(lines)


def step_list(cost: Cost, c: cal.Calibration) -> str:
    """Every step time the table used and how it was got (measured: when; extrapolated or assumed: from what),
    then what the calibration assumes, by its key."""
    lines = ["| step | ms | basis | how |", "|---|---:|---|---|"]
    for key, est in sorted(cost.estimates.items()):
        lines.append(f"| {key} | {est.seconds * 1e3:.4g} | {est.basis} | {est.source} |")
    lines += ["", f"Assumed in {c.path.rsplit('/', 1)[-1]} (not measured on this device):"]
    lines += [f"- `{key}` = {value:g}: {why}" for key, value, why in c.assumptions()]
    return "\n".join(lines)


def tsv(cost: Cost) -> str:
    cols = ["rule", "kind", "jobs", "submissions", "steps", "device_hours", "disk_gib", "basis"]
    rows = ["\t".join(cols)]
    for r in records(cost):
        rows.append("\t".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols))
    return "\n".join(rows)


# ---- the table in docs/hpc.md: one configuration on each device, with and without batching
README_BEGIN, README_END = "<!-- cost:begin -->", "<!-- cost:end -->"


def summary(costs: list[Cost], command: str) -> str:
    """One line per cost (a device, batching on or off): totals, and the training rules' hours."""
    lines = [f"*Generated by `{command}` (src/gradguess/cost.py); per rule, with every step time used: "
             "`benchmarks/results/cost-config.md`.*", "",
             "| device | batching | jobs | SLURM submissions | optimizer steps | device-hours | of which training "
             "| disk (GiB) | step times (jobs) |", "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for c in costs:
        t = c.total()
        train = sum(r.seconds for r in c.rules if r.rule.startswith("train")) / 3600
        lines.append(f"| {c.device} | {'yes' if c.batching else 'no'} | {t.jobs:,} | {t.submissions:,} | "
                     f"{t.steps:,} | {t.seconds / 3600:,.1f} | {train:,.1f} | {t.disk / 2**30:.2f} | {_basis(t)} |")
    return "\n".join(lines)


def rewrite_readme(doc, text: str) -> None:
    """Replace the block between README_BEGIN and README_END of `doc` (docs/hpc.md) with `text`."""
    from gradguess.generated import replace_block

    replace_block(doc, README_BEGIN, README_END, text)
