"""How long a job runs and how much memory it needs, from its size: what the pipeline asks SLURM for.

Time: the job's projected seconds (`spec_seconds`: start-up, then every step, evaluation and monitor measurement)
from the calibration of its device kind, the measured step times in gradguess/calibration/ (h200.json for a GPU
job, cpu-2core.json for a CPU one; `gradguess cost` prints the same projections per rule), multiplied by a safety
factor that grows with Snakemake's `attempt`, so a job killed for its time limit asks for more when retried.
Imports nothing heavy: the Snakefile calls it while it is parsed.
"""
from __future__ import annotations

import math

from gradguess import calibration as cal
from gradguess.catalog import SIZES, in_features
from gradguess.models import facts

SAFETY = 3.0            # first attempt: three times the projection (calibrated on an H200; most GPUs are slower)
STARTUP_SECONDS = 120   # interpreter, imports, data loading, CUDA context
MIN_MINUTES = 10
ANALYSIS_LAUNCHES = 10  # an analysis pass launches ~10x a training step's kernels per 512 examples (a guess)


def mlp_params(dataset: str, depth: int, width: int) -> int:
    return facts.get("mlp").params({"depth": depth, "width": width}, dataset)


def margin(attempt: int) -> float:
    """SAFETY on the first attempt, then 50% more per retry."""
    return SAFETY * (1 + 0.5 * (max(1, attempt) - 1))


def request_minutes(seconds: float, attempt: int = 1) -> int:
    """What a job projected to take `seconds` asks for on its `attempt`."""
    return max(MIN_MINUTES, math.ceil(seconds * margin(attempt) / 60))


def forward_seconds(c: cal.Calibration, backprop: cal.Estimate, batch: int, examples: int) -> float:
    """A forward pass over `examples` (evaluation, batches of 4096): a third of backprop's arithmetic a step."""
    return max(backprop.seconds - c.overhead, 0.0) / batch / 3 * examples + math.ceil(examples / 4096) * c.overhead


def spec_seconds(spec, gpu: bool = True, calibration: cal.Calibration | None = None, replicates: int | None = None,
                 batched: bool = False) -> cal.Estimate:
    """Projected seconds of one job training `replicates` replicates of a run specification (default: every seed),
    one after another, or `batched` as one model: start-up, each epoch's steps, monitor measurements
    (`monitor_every`) and test pass, and each replicate's final pass over both splits."""
    c = calibration or cal.default(gpu)
    model, o, data, batch = spec.model.name, dict(spec.model.options), spec.dataset, spec.batch_size
    n = len(spec.seeds) if replicates is None else int(replicates)
    n_train, n_test = SIZES[data]
    steps = math.ceil(n_train / batch)
    step = c.step(model, o, data, cal.family(spec.method.name, spec.method.options), batch, n if batched else 1)
    bp = c.step(model, o, data, "backprop", batch)
    parts = [step]
    monitor = 0.0
    if spec.monitor_every:
        watch = c.step(model, o, data, "monitor", batch)
        parts.append(watch)
        monitor = watch.seconds / spec.monitor_every
    per_replicate = spec.epochs * (steps * monitor + forward_seconds(c, bp, batch, n_test)) + \
        forward_seconds(c, bp, batch, n_train + n_test)
    stepping = spec.epochs * steps * step.seconds * (1 if batched else n)
    seconds = STARTUP_SECONDS + stepping + n * per_replicate
    basis = max((p.basis for p in parts), key=cal.BASES.index)
    return cal.Estimate(seconds, basis, " | ".join(dict.fromkeys(p.source for p in parts)))


def spec_minutes(spec, gpu: bool = True, attempt: int = 1, calibration: cal.Calibration | None = None,
                 batched: bool = False) -> int:
    """Minutes to ask for a job training every seed of a run specification (gradguess.spec.RunSpec), one after
    another or `batched` as one model."""
    return request_minutes(spec_seconds(spec, gpu, calibration, batched=batched).seconds, attempt)


def figure1_estimates(f1: dict) -> int:
    """Estimates per batch in Figure 1's measurement (config key figure1): every mode of each guessed method."""
    return sum(1 if m in ("directional", "cosine_matched_directional", "backprop") else len(f1["modes"])
               for m in f1["methods"])


def averaging_passes(f4: dict) -> int:
    """Examples pushed through the model by Figure 4 (left)'s guess averaging (config key figure4)."""
    return len(f4["methods"]) * len(f4["modes"]) * f4["examples"] * f4["max_guesses"]


def measure_seconds(dataset: str, depth: int, width: int, batches: int, batch_size: int, estimates: int,
                    gpu: bool = True, calibration: cal.Calibration | None = None) -> cal.Estimate:
    """Figure 1's measurement at one checkpoint: per batch, backprop and `estimates` method estimates, each with
    its cosine and 16 float64 loss evaluations (the calibration's `figure1_estimate`)."""
    c = calibration or cal.default(gpu)
    one = c.step("mlp", {"depth": depth, "width": width}, dataset, "figure1_estimate", batch_size)
    return cal.Estimate(STARTUP_SECONDS + batches * (1 + estimates) * one.seconds, one.basis, one.source)


def measure_minutes(dataset: str, depth: int, width: int, batches: int, batch_size: int, estimates: int,
                    gpu: bool = True, attempt: int = 1) -> int:
    return request_minutes(measure_seconds(dataset, depth, width, batches, batch_size, estimates, gpu).seconds, attempt)


def analysis_seconds(dataset: str, depth: int, width: int, example_passes: int, gpu: bool = True,
                     calibration: cal.Calibration | None = None) -> cal.Estimate:
    """An analysis at fixed weights that pushes `example_passes` examples through the model (each a forward and a
    forward-mode or backward pass, as in backprop's step), e.g. the guess averaging of Figure 4."""
    c = calibration or cal.default(gpu)
    bp = c.step("mlp", {"depth": depth, "width": width}, dataset, "backprop", 512)
    per_512 = max(bp.seconds - c.overhead, 0.0) + ANALYSIS_LAUNCHES * c.overhead
    return cal.Estimate(STARTUP_SECONDS + example_passes / 512 * per_512, bp.basis, bp.source)


def analysis_minutes(dataset: str, depth: int, width: int, example_passes: int, gpu: bool = True,
                     attempt: int = 1) -> int:
    return request_minutes(analysis_seconds(dataset, depth, width, example_passes, gpu).seconds, attempt)


# Host memory, from measured peaks (the benchmark files' max_rss): on the CPU 0.72-0.73 GB for the quick preset's
# MLP jobs (10,000 images), 1.05-1.09 GB for its LocalMixer jobs, 1.2-1.3 GB for the laptop preset's 6x1024 CIFAR-10
# measurements. A GPU job adds the CUDA runtime's host side (about 2.5 GB). Memory is predictable, unlike time: a
# quarter on top, half more on each retry (a job killed for memory asks for more).
MEM_BASE_MB = {"gpu": 2500, "cpu": 800}
MEM_MARGIN = 1.25


def mem_margin(attempt: int) -> float:
    return MEM_MARGIN * (1 + 0.5 * (max(1, attempt) - 1))


def train_mem_mb(dataset: str, depth: int, width: int, batch_size: int, gpu: bool = True, attempt: int = 1) -> int:
    """An MLP run's host memory (spec_mem_mb)."""
    return model_mem_mb("mlp", {"depth": depth, "width": width}, dataset, batch_size, gpu, attempt)


def model_mem_mb(model: str, options, dataset: str, batch_size: int, gpu: bool = True, attempt: int = 1) -> int:
    """Host memory: the runtime, the data set loaded (its uint8 file and float32 tensors for the 32x32 sets, uint8
    for the 224x224 ones), and what the model declares for itself (its weights, optimizer state, checkpoint copies
    and activations: `memory_mb` in models/<file>_facts.py)."""
    pixels = sum(SIZES[dataset]) * in_features(dataset)
    data_mb = pixels * (2 if in_features(dataset) > 3 * 64 * 64 else 5) / 2**20
    model_mb = facts.get(model).model_mb(options, dataset, batch_size, gpu)
    need = MEM_BASE_MB["gpu" if gpu else "cpu"] + data_mb + model_mb
    return int(math.ceil(need * mem_margin(attempt) / 100) * 100)


def spec_mem_mb(spec, gpu: bool = True, attempt: int = 1) -> int:
    return model_mem_mb(spec.model.name, spec.model.options, spec.dataset, spec.batch_size, gpu, attempt)
