"""Choosing the device, and refusing to run on the CPU a job that was given a GPU.

A cluster job that asked for a GPU and cannot see it (Apptainer without `--nv`,
a driver older than the torch build needs) would otherwise fall back to the CPU
and run for days. SLURM tells a job which GPUs it holds; if it holds some and
torch sees none, the job stops at once and says why. `GRADGUESS_REQUIRE_GPU=1`
asks for the same check anywhere else. On a laptop nothing changes: no GPU was
given, the CPU is used.
"""
from __future__ import annotations

import logging
import os
import warnings

import torch

from gradguess.errors import GradguessError

log = logging.getLogger("gradguess.device")

# Environment variables through which SLURM hands a job its GPUs: indices, and counts.
SLURM_GPU_INDICES = ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS")
SLURM_GPU_COUNTS = ("SLURM_GPUS_ON_NODE", "SLURM_GPUS")
# torch 2.14.1 from PyPI is built with CUDA 13.0, which needs an NVIDIA driver of branch 580 or newer.
DRIVER_NOTE = ("the pinned torch build (CUDA {cuda}) needs an NVIDIA driver of branch 580 or newer "
               "(`nvidia-smi` shows the driver version)")


class DeviceError(GradguessError):
    pass


def gpus_given() -> str | None:
    """Why this process should have a GPU (a SLURM allocation or GRADGUESS_REQUIRE_GPU), else None."""
    for name in SLURM_GPU_INDICES + SLURM_GPU_COUNTS:
        value = os.environ.get(name, "").strip()
        if value in ("", "N/A", "(null)") or (name in SLURM_GPU_COUNTS and value == "0"):
            continue
        return f"{name}={value}"
    if os.environ.get("GRADGUESS_REQUIRE_GPU", "").strip() not in ("", "0"):
        return "GRADGUESS_REQUIRE_GPU=" + os.environ["GRADGUESS_REQUIRE_GPU"]
    return None


def cuda_available() -> tuple[bool, str]:
    """torch.cuda.is_available(), plus what torch warned while finding out (a driver too old, ...)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok = torch.cuda.is_available()
    return ok, "; ".join(str(w.message).strip() for w in caught)


def resolve_device(name: str = "auto") -> torch.device:
    """`auto`: CUDA if torch sees a GPU, else the CPU, unless a GPU was given and is not seen (an error)."""
    ok, why_not = cuda_available()
    if name == "auto":
        if ok:
            return torch.device("cuda")
        given = gpus_given()
        if given:
            raise DeviceError(
                f"this job was given a GPU ({given}) but PyTorch sees none, so it would run on the CPU. "
                "Inside Apptainer/Singularity pass --nv (snakemake --apptainer-args=\"--nv\"); otherwise "
                + DRIVER_NOTE.format(cuda=torch.version.cuda) + (f". PyTorch said: {why_not}" if why_not else ""))
        return torch.device("cpu")
    device = torch.device(name)
    if device.type == "cuda" and not ok:
        raise DeviceError(f"device {name!r} requested but CUDA is not available"
                          + (f" ({why_not})" if why_not else ""))
    return device


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        return (f"{device} ({torch.cuda.get_device_name(index)}, torch {torch.__version__}, "
                f"CUDA {torch.version.cuda})")
    return f"{device} ({torch.get_num_threads()} threads, torch {torch.__version__})"


def log_device(device: torch.device, what: str = "job") -> None:
    log.info("%s runs on %s", what, describe(device))
