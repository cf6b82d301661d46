"""How long a job runs and how much memory it needs, from its size: what the pipeline asks SLURM for.

A rough cost model, calibrated on our measurements (README, "Measured runtimes"):
one training step costs a fixed overhead (kernel launches, Python) plus its
arithmetic, ~6 FLOPs per parameter per example (forward, and a backward or
forward-mode pass of the same cost), at an effective throughput:

  NVIDIA H200:  6x1024 MLP, batch 512 (22.6 GFLOP a step): backprop 2.5 ms, W^T 2.7 ms,
                directional 3.8 ms; so ~1.5 ms overhead + 22 TFLOP/s
  2-core CPU:   the same step 113 ms (backprop) to 170 ms (per_layer): ~1 ms + 200 GFLOP/s

The estimate is multiplied by a safety factor that grows with Snakemake's
`attempt`, so a job killed for its time limit asks for more when retried.
Imports nothing heavy: the Snakefile calls it while it is parsed.
"""
from __future__ import annotations

import math

from gradguess.catalog import NUM_CLASSES, SHAPES, SIZES, in_features

# (overhead seconds per step, FLOP/s) per device kind
THROUGHPUT = {"gpu": (1.5e-3, 22e12), "cpu": (1e-3, 2e11)}
# step cost relative to backprop (README's step benchmark, rounded up)
METHOD_FACTOR = {"directional": 1.6, "cosine_matched_directional": 1.8, "wt_sv_power": 2.0}
PER_LAYER_FACTOR = 1.5
SAFETY = 3.0            # first attempt: three times the estimate (calibrated on an H200; most GPUs are slower)
STARTUP_SECONDS = 120   # interpreter, imports, data loading, CUDA context
MIN_MINUTES = 10


def mlp_params(dataset: str, depth: int, width: int) -> int:
    dims = [in_features(dataset)] + [width] * (depth - 1) + [NUM_CLASSES[dataset]]
    return sum((a + 1) * b for a, b in zip(dims[:-1], dims[1:]))


def margin(attempt: int) -> float:
    """SAFETY on the first attempt, then 50% more per retry."""
    return SAFETY * (1 + 0.5 * (max(1, attempt) - 1))


def step_seconds(params: int, batch_size: int, method: str, options: dict | None, device: str) -> float:
    overhead, flops = THROUGHPUT[device]
    factor = METHOD_FACTOR.get(method, 1.2 if method != "backprop" else 1.0)
    if (options or {}).get("mode") == "per_layer":
        factor *= PER_LAYER_FACTOR
    return overhead + factor * 6 * params * batch_size / flops


def train_minutes(dataset: str, depth: int, width: int, epochs: int, batch_size: int, method: str = "backprop",
                  options: dict | None = None, gpu: bool = True, attempt: int = 1, replicates: int = 1,
                  extra_seconds_per_epoch: float = 0.0) -> int:
    """Wall-clock minutes to ask for one training job (`replicates` runs trained one after another)."""
    device = "gpu" if gpu else "cpu"
    params = mlp_params(dataset, depth, width)
    n_train, n_test = SIZES[dataset]
    steps = math.ceil(n_train / batch_size)
    overhead, flops = THROUGHPUT[device]
    evaluate = 2 * params * (n_train + n_test) / flops  # an epoch's test pass, and the final train pass
    epoch = steps * step_seconds(params, batch_size, method, options, device) + evaluate + extra_seconds_per_epoch
    seconds = STARTUP_SECONDS + replicates * epochs * epoch
    return max(MIN_MINUTES, math.ceil(seconds * margin(attempt) / 60))


# LocalMixer (Ren et al.'s M/8/16) seconds per step at batch 128, guessed methods ~3x backprop
# (benchmarks/bench_mixer.py); sized generously: a guess, not a measurement on every GPU.
MIXER_STEP_SECONDS = {"gpu": 0.03, "cpu": 2.0}


def mixer_minutes(dataset: str, epochs: int, batch_size: int, method: str = "backprop", gpu: bool = True,
                  attempt: int = 1, replicates: int = 1) -> int:
    steps = math.ceil(SIZES[dataset][0] / batch_size)
    step = MIXER_STEP_SECONDS["gpu" if gpu else "cpu"] * batch_size / 128 * (1 if method == "backprop" else 3)
    seconds = STARTUP_SECONDS + replicates * epochs * steps * step * 1.2  # and evaluation
    return max(MIN_MINUTES, math.ceil(seconds * margin(attempt) / 60))


# Host memory, from measured peaks (the benchmark files' max_rss): on the CPU 0.72-0.73 GB for the quick preset's
# MLP jobs (10,000 images), 1.05-1.09 GB for its LocalMixer jobs, 1.2-1.3 GB for the laptop preset's 6x1024 CIFAR-10
# measurements. A GPU job adds the CUDA runtime's host side (about 2.5 GB). Memory is predictable, unlike time: a
# quarter on top, half more on each retry (a job killed for memory asks for more).
MEM_BASE_MB = {"gpu": 2500, "cpu": 800}
MEM_MARGIN = 1.25


def mem_margin(attempt: int) -> float:
    return MEM_MARGIN * (1 + 0.5 * (max(1, attempt) - 1))


def train_mem_mb(dataset: str, depth: int, width: int, batch_size: int, gpu: bool = True, attempt: int = 1) -> int:
    """Host memory: the runtime, the data set loaded (its uint8 file and float32 tensors), the model and its
    optimizer state and checkpoint copies, and on the CPU the activations."""
    params = mlp_params(dataset, depth, width)
    n_train, n_test = SIZES[dataset]
    data_bytes = (n_train + n_test) * in_features(dataset) * (1 + 4)  # uint8 file, float32 tensor
    model_bytes = 4 * params * 8  # weights, grads, optimizer state, checkpoint copies
    activations = 4 * batch_size * (in_features(dataset) + depth * width) * 8
    need = MEM_BASE_MB["gpu" if gpu else "cpu"] + (data_bytes + model_bytes + (0 if gpu else activations)) / 2**20
    return int(math.ceil(need * mem_margin(attempt) / 100) * 100)


def measure_minutes(dataset: str, depth: int, width: int, batches: int, batch_size: int, estimates: int,
                    gpu: bool = True, attempt: int = 1) -> int:
    """Minutes for Figure 1's measurement at one checkpoint: per batch, backprop and `estimates` method
    estimates, each followed by 3 scalings × 5 step sizes of float64 loss evaluations (~10× float32 on a CPU,
    ~60× on a consumer GPU; we assume the worst of the two, 60×, on any GPU)."""
    device = "gpu" if gpu else "cpu"
    overhead, flops = THROUGHPUT[device]
    params = mlp_params(dataset, depth, width)
    step = step_seconds(params, batch_size, "directional", None, device)
    forward64 = overhead + (60 if gpu else 10) * 2 * params * batch_size / flops
    seconds = STARTUP_SECONDS + batches * (1 + estimates) * (step + 16 * forward64)
    return max(MIN_MINUTES, math.ceil(seconds * margin(attempt) / 60))


def analysis_minutes(dataset: str, depth: int, width: int, example_passes: int, gpu: bool = True,
                     attempt: int = 1) -> int:
    """Minutes for an analysis at fixed weights that pushes `example_passes` examples through the model (each a
    forward and a forward-mode or backward pass), e.g. the guess averaging of Figure 4."""
    overhead, flops = THROUGHPUT["gpu" if gpu else "cpu"]
    params = mlp_params(dataset, depth, width)
    seconds = STARTUP_SECONDS + example_passes * 6 * params / flops + example_passes / 512 * overhead * 10
    return max(MIN_MINUTES, math.ceil(seconds * margin(attempt) / 60))


# a prompted ViT-B/16 step at batch 128, forward-gradient methods ~2x backprop (benchmarks/bench_prompt.py on the CPU;
# the GPU figure scales the H200's measured MLP throughput: a projection until measured)
VIT_STEP_SECONDS = {"gpu": 0.25, "cpu": 250.0}


def spec_minutes(spec, gpu: bool = True, attempt: int = 1) -> int:
    """Minutes to ask for a job training every seed of a run specification (gradguess.spec.RunSpec)."""
    o, seeds = spec.model.options, len(spec.seeds)
    if spec.model.name == "localmixer":
        return mixer_minutes(spec.dataset, spec.epochs, spec.batch_size, spec.method.name, gpu, attempt, seeds)
    if spec.model.name == "mlp":
        return train_minutes(spec.dataset, o["depth"], o["width"], spec.epochs, spec.batch_size, spec.method.name,
                             dict(spec.method.options), gpu, attempt, seeds)
    steps = math.ceil(SIZES[spec.dataset][0] / spec.batch_size) * spec.epochs * seeds
    device = "gpu" if gpu else "cpu"
    step = THROUGHPUT[device][0] + VIT_STEP_SECONDS[device] * vit_scale(spec.dataset, o) * spec.batch_size / 128 * (
        1 if spec.method.name == "backprop" else 2)
    return max(MIN_MINUTES, math.ceil((STARTUP_SECONDS + steps * step * 1.2) * margin(attempt) / 60))


def vit_scale(dataset: str, o: dict) -> float:
    """A prompted ViT's step against ViT-B/16's with 5 prompts at 224: blocks x tokens x width^2 (the linear
    maps, which dominate at these sizes)."""
    _, h, _ = SHAPES[dataset]
    tokens = (h // o["patch"]) ** 2 + 1 + o["n_prompt"]
    return o["depth"] / 12 * tokens / 202 * (o["dim"] / 768) ** 2


def spec_mem_mb(spec, gpu: bool = True, attempt: int = 1) -> int:
    o = spec.model.options
    if spec.model.name == "mlp":
        return train_mem_mb(spec.dataset, o["depth"], o["width"], spec.batch_size, gpu, attempt)
    # the LocalMixer and the prompted ViT: the data set (floats for the 32x32 sets, uint8 for the 224x224 ones),
    # and an allowance for the model and its activations (ViT-B/16's weights alone are 0.35 GB)
    pixels = sum(SIZES[spec.dataset]) * in_features(spec.dataset)
    data_mb = pixels * (2 if in_features(spec.dataset) > 3 * 64 * 64 else 5) / 2**20
    model_mb = 2000 if spec.model.name == "vit_prompt" else 500
    need = MEM_BASE_MB["gpu" if gpu else "cpu"] + data_mb + model_mb
    return int(math.ceil(need * mem_margin(attempt) / 100) * 100)
