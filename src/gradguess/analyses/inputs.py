"""What a measurement at fixed weights reads: a model from a weights file or a run, its data set, and the seeded
batch of examples it measures (the same at every epoch of a trajectory)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from gradguess import models
from gradguess.data.loading import load as load_data
from gradguess.device import log_device, resolve_device
from gradguess.spec import RunSpec


def device_for(name: str, what: str) -> torch.device:
    device = resolve_device(name)
    log_device(device, what)
    return device


def run_spec(directory) -> tuple[RunSpec, int]:
    """A run directory's (one seed's) specification and seed, from its config.json."""
    config = json.loads((Path(directory) / "config.json").read_text())
    return RunSpec.from_dict(config["spec"]), int(config["seed"])


def initial_and_trained(run, data_root, device):
    """A run's model at its initialisation (rebuilt from its spec and seed) and trained (weights.pt), and its data."""
    spec, seed = run_spec(run)
    data = load_data(spec.dataset, data_root, device=device)
    init = models.build(spec.model, tuple(data.x_train.shape[1:]), data.num_classes, seed).to(device)
    return init, models.load(Path(run) / "weights.pt", device), data


def trajectory(directory, data_root, device):
    """A trajectory's spec, data, and its snapshots as (epoch, path), in order."""
    directory = Path(directory)
    spec, _ = run_spec(directory)
    snapshots = sorted((directory / "snapshots").glob("epoch_*.pt"))
    if not snapshots:
        raise ValueError(f"{directory / 'snapshots'} holds no epoch_*.pt snapshots: is {directory} a trajectory?")
    return spec, load_data(spec.dataset, data_root, device=device), [(int(p.stem.split("_")[1]), p) for p in snapshots]


def examples(data, n: int, seed: int):
    """The same seeded batch of training examples at every epoch, as the model sees them."""
    pick = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))[:n].to(data.x_train.device)
    return data.prepare_batch(data.x_train[pick]), data.y_train[pick]
