"""paper_figures/README.md: what each artifact is, and the preset and config that made it."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import yaml

from gradguess import io

# Each artifact: what it reproduces, stated with the preset's own settings ({...} filled in by `settings`),
# and what it is made from.
CATALOGUE = {
    "comparison": ("The paper against ours: every claim with its verdict (holds / does not hold / not measured at "
                   "this preset) and every number of Figure 1's table, Table 2 and Table 1 beside ours",
                   "the CSVs below, src/gradguess/report/paper_numbers.yaml"),
    "figure1": ("Figure 1 (left): cosine similarity of each method's guess along the backprop trajectory of a "
                "{trajectory}, {figure1_batches} batches of {figure1_batch_size} per checkpoint",
                "<tree>/trajectories/… → <tree>/figure1/epoch_*.csv"),
    "figure1_table": ("Figure 1 (right): mean ± std over that trajectory (epochs from "
                      "{figure1_from_epoch}) of cosine similarity and 1-step effectiveness (the paper's unit-direction "
                      "column, raw, norm-matched)", "<tree>/figure1/epoch_*.csv"),
    "table2": ("Table 2: train and test accuracy, mean ± std over seeds {seeds}, on {table2_datasets} at "
               "{table2_architectures}, {table2_epochs} epochs (Markdown/LaTeX: the paper's train block above its test "
               "block)", "<tree>/runs/*/*/*/e*/seed*/result.json"),
    "figure3": ("Figure 3: accuracy against (depth, width) {table2_architectures}, train row and test row",
                "<tree>/tables/runs.csv"),
    "figure11": ("Figure 11: train/test curves of the Table 2 runs ({table2_epochs} epochs)",
                 "<tree>/tables/curves.csv"),
    "figure4": ("Figure 4: cosine of the mean of n = 2 … {figure4_guesses} guesses of {figure4_examples} examples at "
                "epoch {figure4_epoch} of Figure 1's trajectory (left); matched-cosine directional descent against "
                "W^T (middle); with and without momentum (right), runs of a {figure4_runs}; figure4.csv: the data",
                "<tree>/figure4/averaging.csv, <tree>/runs/…"),
    "figure6": ("Figure 6: each method at its best learning rate per optimizer (A.1), runs of a {figure6_runs}, "
                "learning rates {figure6_lrs}; figure6.csv: the whole sweep, chosen learning rates marked",
                "<tree>/runs/… (the sweep)"),
    "figure6_curves": ("Figure 6's training curves, every swept run", "<tree>/runs/…"),
    "figure7": ("Figure 7: 1-, 2- and 3-layer downstream against the other methods, runs of a {figure7_runs} "
                "(left); Jacobian spectra through k layers of a {jacobian_run} (right); figure7.csv: the data",
                "<tree>/runs/…, <tree>/figure7/spectra.csv"),
    "figure5": ("Figure 5: self-sharpening's guess cosine and accuracy against W^T, downstream and directional, "
                "runs of a {figure5_runs} (top); W^T with singular values raised to the powers {sv_powers} "
                "({sv_replicates} replicates each, of a {sv_runs}): cosine and first-layer effective rank (bottom); "
                "figure5.csv: the data", "<tree>/runs/…/monitor.csv, <tree>/replicates/…/monitor.csv"),
    "figure2": ("Figure 2: per class, first principal directions of input gradients and of inputs, and a random "
                "mix of inputs, at initialisation and trained, a {figure2_left} (left); gradients projected onto the "
                "activations' top-k directions and onto random subspaces, {figure2_right} (right); figure2.csv: the "
                "right panel's data", "<tree>/figure2/subspace/…"),
    "figure2_images": ("Figure 2 (left)'s pictures: one row per (state, kind, class), one column per pixel",
                       "<tree>/figure2/class_images.csv"),
    "figure10": ("Figure 10: Figure 2 (right) per width ({figure10_widths}), depth and layer; figure10.csv: the data",
                 "<tree>/figure2/subspace/…"),
    "table1": ("Table 1: LocalMixer ({mixer}) test accuracy on {table1_dataset}, backprop / Ren et al. / mixing / W^T, "
               "{table1_epochs} epochs for rows (a), (b), (c), beside the paper's (CSV, Markdown, LaTeX)",
               "<tree>/runs/<dataset>/mixer-…"),
    "figure8": ("Figure 8: LocalMixer ({mixer}) train/test curves on {table1_dataset} with and without local losses; "
                "figure8.csv: the data", "<tree>/runs/<dataset>/mixer-…"),
    "figure9": ("Figure 9: prompt tuning a frozen ViT ({vit}; backbone weights: {vit_weights}) on {figure9_datasets} "
                "with {figure9_methods}, {figure9_epochs} epochs, each method at its best lr of {figure9_lrs} by final "
                "train accuracy; figure9.csv: every run of the grid", "<tree>/runs/<dataset>/vit-…, <tree>/weights/"),
    "config": ("the resolved configuration every artifact here was made with", "config.yaml + presets"),
}


class _Unknown(dict):
    def __missing__(self, key):
        return "?"


def _mlp(section: dict, epochs: bool = True) -> str:
    """"6x64 MLP on synthetic (2 epochs)" from a config section with dataset, depth, width (and epochs)."""
    if not isinstance(section, dict) or "depth" not in section:
        return "?"
    text = f"{section['depth']}x{section['width']} MLP on {section.get('dataset', '?')}"
    return f"{text} ({section['epochs']} epochs)" if epochs and "epochs" in section else text


def _list(values) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) if isinstance(values, list) else "?"


def settings(config: dict) -> dict[str, str]:
    """The preset's settings as the catalogue states them: what each artifact was really made at."""
    c = config
    get = lambda *keys: _dig(c, keys)  # noqa: E731
    mixer = get("table1", "mixer") or {}
    sv = get("figure5", "sv_power") or {}
    epochs = get("table1", "epochs") or {}
    return _Unknown({
        "seeds": _list(c.get("seeds")),
        "trajectory": _mlp(get("trajectory")),
        "figure1_batches": str(get("figure1", "batches") or "?"),
        "figure1_batch_size": str(get("figure1", "batch_size") or "?"),
        "figure1_from_epoch": str(get("figure1", "average_from_epoch") if get("figure1", "average_from_epoch")
                                  is not None else "?"),
        "table2_datasets": _list(get("table2", "datasets")),
        "table2_architectures": ", ".join(f"{a['depth']}x{a['width']}" for a in get("table2", "architectures") or [])
                                or "?",
        "table2_epochs": str(get("table2", "epochs") or "?"),
        "figure4_guesses": str(get("figure4", "max_guesses") or "?"),
        "figure4_examples": str(get("figure4", "examples") or "?"),
        "figure4_epoch": str(get("figure4", "snapshot_epoch") if get("figure4", "snapshot_epoch") is not None else "?"),
        "figure4_runs": _mlp(get("figure4")),
        "figure6_runs": _mlp(get("figure6")),
        "figure6_lrs": _list(get("figure6", "lrs")),
        "figure7_runs": _mlp(get("figure7")),
        "jacobian_run": _mlp(get("figure7", "jacobian")),
        "figure5_runs": _mlp(get("figure5")),
        "sv_powers": _list(sv.get("powers")),
        "sv_replicates": str(sv.get("replicates", "?")),
        "sv_runs": _mlp(sv),
        "figure2_left": _mlp({**(get("figure2", "left") or {}), "epochs": get("figure2", "epochs")})
                        if get("figure2", "left") else "?",
        "figure2_right": (f"depths {_list(get('figure2', 'depths'))} at width {get('figure2', 'width')} on "
                          f"{get('figure2', 'dataset')} ({get('figure2', 'epochs')} epochs)")
                         if get("figure2") else "?",
        "figure10_widths": _list(get("figure10", "widths")),
        "mixer": (f"{mixer['blocks']} blocks, {mixer['channels']} channels, {mixer['patch']}-pixel patches, "
                  f"{mixer['groups']} groups") if {"blocks", "channels", "patch", "groups"} <= set(mixer) else "?",
        "table1_dataset": str(get("table1", "dataset") or "?"),
        "table1_epochs": "/".join(str(epochs[k]) for k in ("adam", "augment", "augment_long") if k in epochs) or "?",
        "vit": ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in (get("figure9", "vit") or {}).items()) or "?",
        "vit_weights": str(get("figure9", "weights")),
        "figure9_datasets": _list(get("figure9", "datasets")),
        "figure9_methods": _list(get("figure9", "methods")),
        "figure9_epochs": str(get("figure9", "epochs") or "?"),
        "figure9_lrs": _list(get("figure9", "lrs")),
    })


def _dig(config: dict, keys) -> object:
    for key in keys:
        if not isinstance(config, dict) or key not in config:
            return None
        config = config[key]
    return config


def describe(stem: str, config: dict) -> tuple[str, str]:
    """What an artifact reproduces, at this preset's settings, and what it is made from."""
    what, source = CATALOGUE.get(stem, ("", ""))
    return what.format_map(settings(config)), source


def config_digest(config: dict) -> str:
    return hashlib.sha256(yaml.safe_dump(config, sort_keys=True).encode()).hexdigest()[:12]


def write_readme(path: str | Path, artifacts: list[str], config: dict, configfiles: list[str]) -> None:
    preset = config.get("preset", "?")
    path = Path(path)
    groups: dict[str, list[str]] = {}
    for a in artifacts:
        groups.setdefault(Path(a).stem, []).append(Path(a).name)
    extra = " ".join(c for c in configfiles if c != "config.yaml")
    extra = f" --configfile {extra}" if extra else ""
    lines = [
        f"# Paper figures and tables: preset `{preset}`",
        "",
        f"Generated by the gradguess pipeline (`{io.code_version()}`) on {dt.date.today().isoformat()}.",
        "",
        f"**Preset: `{preset}`** — config digest `{config_digest(config)}`, from "
        + ", ".join(f"`{c}`" for c in configfiles) + ".",
        "",
        "Regenerate everything here, from the repository root (only what is missing or out of date runs):",
        "",
        "```bash",
        f".venv/bin/snakemake --profile profiles/local{extra}     # or --profile slurm on a cluster",
        "```",
        "",
    ]
    if preset != "paper":
        lines += [f"> These artifacts come from the `{preset}` preset: fewer epochs, seeds and smaller models than "
                  "the paper. They show that the pipeline runs end to end; they are not the paper's numbers.", ""]
    tree = f"{config.get('results', 'results')}/{preset}"
    lines += [f"`<tree>` below is `{tree}`.", "",
              "| artifact | files | what it reproduces | made from |", "|---|---|---|---|"]
    for stem, files in groups.items():
        what, source = describe(stem, config)
        lines.append(f"| {stem} | {', '.join(f'[{f}]({f})' for f in sorted(files))} | {what} | `{source}` |")
    lines += ["", f"The configuration these were made with is in [config.yaml](config.yaml) (without `execution`, "
              f"`resources` and `container`, which change how jobs run, not what they compute). Every run directory "
              f"under `{tree}/` also holds its own `config.json` and `provenance.json` (seed, code version and digest, "
              "packages, device).", ""]
    io.write_text(path, "\n".join(lines))


def write_config(path: str | Path, config: dict, configfiles: list[str]) -> None:
    header = f"# resolved gradguess config (preset {config.get('preset')}); from: {', '.join(configfiles)}\n"
    io.write_text(path, header + yaml.safe_dump(config, sort_keys=False))
