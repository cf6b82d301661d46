"""How methods, datasets and architectures are named and ordered in the paper's tables and figures."""
from __future__ import annotations

METHOD_LABELS = {
    "directional": "Directional descent",
    "activation_perturbation": "Activation perturbation",
    "activation_mixing": "Activation mixing",
    "wt": "W^T",
    "downstream": "1-layer downstream",
    "self_sharpening": "Self-sharpening",
    "backprop": "Backprop (oracle)",
    "cosine_matched_directional": "Cosine-matched directional",
    "wt_sv_power": "W^T (SV power)",
}
METHOD_ORDER = list(METHOD_LABELS)
DATASET_LABELS = {"cifar100": "CIFAR100", "cifar10": "CIFAR10", "svhn": "SVHN", "mnist": "MNIST",
                  "synthetic": "Synthetic", "cub200": "CUB-200-2011", "stanford_cars": "Stanford Cars",
                  "stanford_dogs": "Stanford Dogs"}
DATASET_ORDER = list(DATASET_LABELS)
# one colour per method across every figure
PALETTE = dict(zip(METHOD_ORDER, ["#7f7f7f", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#000000",
                                  "#8c564b", "#e377c2"]))


def method_label(name: str) -> str:
    base, _, opts = name.partition(":")
    return METHOD_LABELS.get(base, base) + (f" ({opts})" if opts else "")


def run_label(method: str, options: dict | None = None, optimizer: str | None = None,
              momentum: float | None = None) -> str:
    """How a run is named in a legend: its method, and what sets it apart (layers, cosine, optimizer)."""
    options = options or {}
    if method == "downstream" and options.get("layers", 1) != 1:
        label = f"{options['layers']}-layer downstream"
    elif method == "cosine_matched_directional" and "cosine" in options:
        label = f"Cosine-matched directional ({options['cosine']:.3g})" if isinstance(options["cosine"], float) \
            else "Cosine-matched directional"
    else:
        label = method_label(method)
    if optimizer == "sgd":
        label += ", SGD + momentum" if momentum else ", SGD"
    return label


def method_key(name: str) -> int:
    base = name.partition(":")[0]
    return METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER)


def dataset_label(name: str) -> str:
    return DATASET_LABELS.get(name, name)


# the paper's Figure 3 runs MNIST, SVHN, CIFAR10, CIFAR100: Table 2's order the other way round
FIGURE3_ORDER = ["mnist", "svhn", "cifar10", "cifar100", "synthetic"]


def dataset_key(name: str, figure3: bool = False) -> int:
    order = FIGURE3_ORDER if figure3 else DATASET_ORDER
    return order.index(name) if name in order else len(order)


def arch_label(depth: int, width: int) -> str:
    return f"D:{depth}, W:{width}"


def arch_params(depth: int, width: int, in_features: int = 3072, classes: int = 10) -> int:
    """Parameter count, the paper's order for architectures (Figure 3's x-axis)."""
    if depth == 1:
        return in_features * classes + classes
    return (in_features + 1) * width + (depth - 2) * (width + 1) * width + (width + 1) * classes


def vit_label(patch: int, dim: int, blocks: int, heads: int, prompts: int) -> str:
    """'ViT-B/16, 5 prompts' for the paper's backbone, else its sizes."""
    name = "ViT-B/16" if (patch, dim, blocks, heads) == (16, 768, 12, 12) else \
        f"ViT ({patch}-pixel patches, width {dim}, {blocks} blocks, {heads} heads)"
    return f"{name}, {prompts} prompts"


def model_label(run: str) -> str:
    """A run's model from its directory name: 'M/8/16 (4 blocks, 512 channels)' style for a LocalMixer
    (<...>/mixer-b<blocks>-c<channels>-p<patch>-g<groups>/...), 'D:6, W:1024' for an MLP."""
    import re

    m = re.search(r"mixer-b(\d+)-c(\d+)-p(\d+)-g(\d+)", str(run))
    if m:
        blocks, channels, patch, groups = m.groups()
        return f"{blocks} blocks, {channels} channels, {patch}-pixel patches, {groups} groups"
    m = re.search(r"vit-p(\d+)-w(\d+)-b(\d+)-h(\d+)-n(\d+)", str(run))
    if m:
        return vit_label(*(int(g) for g in m.groups()))
    m = re.search(r"d(\d+)-w(\d+)", str(run))
    return arch_label(int(m.group(1)), int(m.group(2))) if m else "?"
