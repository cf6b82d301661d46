"""`gradguess report <artifact>`: one job for every figure and table of the paper, from a table of their inputs.
The artifact's report module (gradguess/report/<artifact>.py) makes it: `write(out, preset, **inputs)`, `out` its
files in --out-dir as report/artifacts.py names them. The module is imported by name, so each artifact's code
digest is its own module's (gradguess.jobs.BY_NAME), and editing one figure re-renders that figure only."""
from __future__ import annotations

from types import SimpleNamespace

from gradguess.jobs.args import GATHERED, RUNS, SUBSPACE, json_setting, jvp_mode, panel

# artifact -> (help, its inputs and settings: flag -> add_argument's keywords); a flag's name is its keyword in
# the artifact's write()
FLAGS = {
    "figure1": ("Figure 1 (PNG, PDF) and its table (CSV, Markdown, LaTeX)", {
        "--measurements": {"nargs": "+", "required": True, "help": "CSVs from `gradguess cosine --epoch`"},
        "--average-from-epoch": {"type": int, "default": 1, "help": "the table averages epochs from this one on "
                                 "(default 1: the paper measures after each epoch, so the initialisation is drawn "
                                 "but not averaged)"},
        "--setting": json_setting('the trajectory {"dataset":..,"depth":..,"width":..}')}),
    "table2": ("Table 2 as CSV, Markdown and LaTeX", {
        "--runs": GATHERED,
        "--layout": {"choices": ("stacked", "wide"), "default": "stacked", "help": "stacked: the paper's train "
                     "block above a test block (default); wide: train and test side by side"}}),
    "figure3": ("Figure 3 as PNG and PDF", {"--runs": GATHERED}),
    "figure11": ("Figure 11 as PNG and PDF", {"--curves": GATHERED}),
    "figure4": ("Figure 4 (PNG, PDF) and its data (CSV)", {
        "--averaging": {"required": True, "help": "CSV from `gradguess averaging`"},
        "--middle": panel("the middle panel's runs' seed files"),
        "--right": panel("the right panel's runs' seed files"),
        "--paper-mode": {"type": jvp_mode, "default": "per_layer",
                         "help": "the JVP mode marked as the paper's reading (config figure4.paper_mode)"},
        "--setting": json_setting("the averaged model's setting")}),
    "figure6": ("Figure 6 (PNG, PDF) and its data (CSV)", {"--runs": RUNS}),
    "figure7": ("Figure 7 (PNG, PDF) and its data (CSV)", {
        "--runs": panel("the left panel's runs' seed files"),
        "--spectra": {"required": True, "help": "CSV from `gradguess jacobian`"},
        "--jacobian": json_setting("the spectra's MLP (dataset, depth, width, layer)")}),
    "figure5": ("Figure 5 (PNG, PDF) and its data (CSV)", {
        "--top": {"nargs": "+", "required": True, "help": "the monitored runs' monitor.csv (top row)"},
        "--bottom": {"nargs": "+", "required": True, "help": "the wt_sv_power replicates' monitor.csv"}}),
    "figure2": ("Figure 2 (PNG, PDF) and its data (CSV)", {
        "--subspace": SUBSPACE, "--images": {"required": True, "help": "CSV from `gradguess class-images`"}}),
    "figure10": ("Figure 10 (PNG, PDF) and its data (CSV)", {"--subspace": SUBSPACE}),
    "table1": ("Table 1 (CSV, Markdown, LaTeX): LocalMixer test accuracy beside the paper's", {
        f"--{row}": {"nargs": "*", "default": [], "help": f"the {row} row's runs' seed files"}
        for row in ("adam", "augment", "augment-long")}),
    "figure8": ("Figure 8 (PNG, PDF) and its data (CSV)", {"--runs": RUNS}),
    "figure9": ("Figure 9 (PNG, PDF) and its data (CSV)", {"--runs": RUNS}),
}


def add_arguments(p, name: str) -> None:
    for flag, options in FLAGS[name][1].items():
        p.add_argument(flag, **options)
    p.add_argument("--out-dir", required=True, help="where its files go, e.g. paper_figures/quick (their names: "
                                                    "gradguess/report/artifacts.py)")
    p.add_argument("--preset", required=True, help="preset name, stamped on the artifact")
    p.set_defaults(artifact=name)


def job(name: str) -> SimpleNamespace:
    """The job `gradguess report <name>` runs (gradguess.jobs.load)."""
    return SimpleNamespace(HELP=FLAGS[name][0], DESCRIPTION=FLAGS[name][0], add_arguments=lambda p: add_arguments(p, name),
                           run=run)


def run(args) -> int:
    import importlib

    from gradguess.report.artifacts import paths

    names = [flag[2:].replace("-", "_") for flag in FLAGS[args.artifact][1]]
    inputs = {name: getattr(args, name) for name in names}
    writer = importlib.import_module(f"gradguess.report.{args.artifact}")
    writer.write(paths(args.artifact, args.out_dir), args.preset, **inputs)
    return 0
