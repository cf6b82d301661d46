"""Tables and figures from run artifacts: aggregation over seeds, diverged runs, formats."""
import json

import pandas as pd
import pytest

from gradguess.report import figure1, figure3, figure5, figure6, figure11, layout, runs as run_io, table1, table2
from gradguess.report.artifacts import paths as artifact_paths
from gradguess.runfiles import record
from gradguess.spec import Part, RunSpec
from gradguess.train import Runtime


def write_config(seed_dir, dataset, depth, width, method, seed, options=None):
    """config.json as the trainer writes it (runfiles.record), so the readers are tested on the real format."""
    spec = RunSpec(model=Part("mlp", {"depth": depth, "width": width}), method=Part(method, options or {}),
                   dataset=dataset, epochs=2, seeds=(seed,))
    (seed_dir / "config.json").write_text(json.dumps(record(spec, seed, Runtime(preset="test"), "cpu")))


def fake_run(root, dataset, depth, width, method, seed, status, train_acc, test_acc):
    run = root / dataset / f"d{depth}-w{width}" / method / f"seed{seed}"
    run.mkdir(parents=True)
    write_config(run, dataset, depth, width, method, seed)
    result = {"status": status, "epochs_completed": 2 if status == "completed" else 0}
    if status == "completed":
        result.update(train_acc=train_acc, test_acc=test_acc, train_loss=1.0, test_loss=1.1)
    (run / "result.json").write_text(json.dumps(result))
    (run / "metrics.csv").write_text("epoch,step,train_loss,train_acc,test_loss,test_acc,seconds\n"
                                     f"1,1,2.0,{train_acc / 2},2.0,{test_acc / 2},0.1\n"
                                     f"2,2,1.0,{train_acc},1.1,{test_acc},0.1\n")
    return run / "result.json"


@pytest.fixture
def gathered(tmp_path):
    paths = [fake_run(tmp_path, "mnist", 3, 32, "wt", 0, "completed", 0.80, 0.70),
             fake_run(tmp_path, "mnist", 3, 32, "wt", 1, "completed", 0.90, 0.74),
             fake_run(tmp_path, "mnist", 3, 32, "backprop", 0, "completed", 0.99, 0.97),
             fake_run(tmp_path, "mnist", 3, 32, "backprop", 1, "diverged", 0, 0),
             fake_run(tmp_path, "mnist", 6, 32, "wt", 0, "diverged", 0, 0),
             fake_run(tmp_path, "synthetic", 3, 32, "wt", 0, "completed", 0.30, 0.25)]
    return run_io.gather_runs(paths)


def test_table2_averages_completed_seeds_and_marks_divergence(gathered):
    runs, curves = gathered
    assert len(runs) == 6 and len(curves) == 12
    long = table2.table2(runs)
    row = long[(long.method == "wt") & (long.dataset == "mnist") & (long.depth == 3) & (long.split == "train")].iloc[0]
    assert row["mean"] == pytest.approx(85.0) and row["std"] == pytest.approx(pd.Series([80, 90]).std())
    header, body = table2.table2_wide(long)
    assert header == ["Architecture", "Method", "Train MNIST", "Train Synthetic", "Test MNIST", "Test Synthetic"]
    cells = {(r[0], r[1]): r[2:] for r in body}
    assert cells[("D:3, W:32", "W^T")][0] == "85.0 ± 7.1"
    assert cells[("D:3, W:32", "Backprop (oracle)")][0] == "99.0 ± 0.0 (1 div.)"
    assert cells[("D:6, W:32", "W^T")][0] == "diverged"
    assert cells[("D:6, W:32", "W^T")][1] == "–"  # no synthetic run for that architecture
    # the paper's order: architectures by size, then methods as in Table 2
    assert [r[1] for r in body[:2]] == ["W^T", "Backprop (oracle)"]


def test_table_formats_and_figures_are_written(gathered, tmp_path):
    runs, curves = gathered
    long = table2.table2(runs)
    header, body = table2.table2_wide(long)
    paths = layout.write_table(long, header, body, artifact_paths("table2", tmp_path / "out"), "Table 2", "test")
    assert [p.suffix for p in paths] == [".csv", ".md", ".tex"]
    assert set(pd.read_csv(paths[0])["preset"]) == {"test"}
    tex = paths[2].read_text()
    assert r"$W^\top$" in tex and r"$\pm$" in tex and "preset: test" in tex
    for module, frame in ((figure3, runs), (figure11, curves)):
        out = module.draw(frame, artifact_paths(module.__name__.rpartition(".")[2], tmp_path / "out"), "test")
        assert all(p.stat().st_size > 1000 for p in out)


def test_the_report_job_writes_each_artifacts_files_as_the_table_names_them(gathered, tmp_path):
    """`gradguess report <artifact>` hands its writer the files report/artifacts.py names (the rule's outputs)."""
    from gradguess.cli import main
    from gradguess.report.artifacts import ARTIFACTS

    runs, curves = gathered
    runs.to_csv(tmp_path / "runs.csv", index=False)
    curves.to_csv(tmp_path / "curves.csv", index=False)
    for name, source in (("table2", "--runs"), ("figure3", "--runs"), ("figure11", "--curves")):
        out = tmp_path / name
        csv = tmp_path / ("curves.csv" if source == "--curves" else "runs.csv")
        assert main(["report", name, source, str(csv), "--out-dir", str(out), "--preset", "test"]) == 0
        assert sorted(p.name for p in out.iterdir()) == sorted(ARTIFACTS[name].files.values())


def test_every_artifact_the_report_job_makes_has_a_writer_taking_its_inputs():
    import importlib
    import inspect

    from gradguess.jobs.report.artifact import FLAGS
    from gradguess.report.artifacts import ARTIFACTS

    assert set(FLAGS) == set(ARTIFACTS) - {"comparison", "readme"}  # those two have jobs of their own
    for name, (_, flags) in FLAGS.items():
        write = importlib.import_module(f"gradguess.report.{name}").write
        inspect.signature(write).bind("out", "preset", **{f[2:].replace("-", "_"): None for f in flags})


def test_figure1_table_has_the_oracle_row_and_both_modes(tmp_path):
    rows = [{"epoch": e, "batch": b, "method": m, "mode": mode, "cosine": c, "one_step_effectiveness": c ** 2,
             "one_step_effectiveness_norm_matched": c}
            for e in (0, 1) for b in (0, 1)
            for m, mode, c in (("directional", None, 3e-4), ("wt", "joint", 0.03), ("wt", "per_layer", 0.1))]
    frame = pd.DataFrame(rows)
    long, header, body = figure1.figure1_table(frame)
    assert body[0] == ["Backprop (oracle)", "", "1", "1", "1"]
    assert [(r[0], r[1]) for r in body[1:]] == [("Directional descent", ""), ("W^T", "joint (paper's)"),
                                                ("W^T", "per_layer (ours)")]
    assert body[2][2] == "0.03 ± 0"
    assert header[3].startswith("1-step effectiveness (paper's")
    assert set(long["batches"]) == {2} and set(long["epochs"]) == {"1-1"}  # epoch 0 left out by default
    everything = figure1.figure1_table(frame, average_from_epoch=0)[0]
    assert set(everything["batches"]) == {4}
    out = figure1.draw(frame, artifact_paths("figure1", tmp_path), "test")
    assert all(p.exists() for p in out)


def test_table2_stacked_layout_is_the_papers(gathered, tmp_path):
    runs, _ = gathered
    long = table2.table2(runs)
    header, body = table2.table2_stacked(long)
    assert header == ["Split", "Architecture", "Method", "MNIST", "Synthetic"]
    splits = [r[0] for r in body]
    assert splits == sorted(splits, key=lambda s: s != "Train accuracy")  # the train block above the test block
    assert splits.count("Train accuracy") == splits.count("Test accuracy") == 3
    cells = {(r[0], r[1], r[2]): r[3:] for r in body}
    assert cells[("Train accuracy", "D:3, W:32", "W^T")] == ["85.0 ± 7.1", "30.0 ± 0.0"]
    assert cells[("Test accuracy", "D:3, W:32", "W^T")][0] == "72.0 ± 2.8"
    paths = layout.write_table(long, header, body, artifact_paths("table2", tmp_path), "Table 2", "test", groups=2)
    md = paths[1].read_text().splitlines()
    # repeated block and architecture names are blanked, as in the paper
    assert md[4].startswith("| Train accuracy | D:3, W:32 | W^T |") and md[5].startswith("|  |  | Backprop")
    tex = paths[2].read_text()
    assert tex.count(r"\midrule") == 2 and r"\begin{tabular}{lllcc}" in tex


def test_figure3_columns_run_mnist_svhn_cifar10_cifar100():
    from gradguess.report.names import dataset_key

    shuffled = ["cifar100", "mnist", "cifar10", "svhn"]
    assert sorted(shuffled, key=lambda d: dataset_key(d, figure3=True)) == ["mnist", "svhn", "cifar10", "cifar100"]
    assert sorted(shuffled, key=dataset_key) == ["cifar100", "cifar10", "svhn", "mnist"]  # Table 2's order


def test_sweep_selection_picks_each_methods_best_final_train_accuracy(tmp_path):
    rows = []
    def run(name, method, optimizer, lr, finals, diverged=False):
        for seed, final in enumerate(finals):
            for epoch, acc in ((1, final / 2), (2, final)):
                rows.append({"run": f"r/{name}", "name": name, "method": method, "optimizer": optimizer, "lr": lr,
                             "momentum": 0.0, "seed": seed, "epoch": epoch,
                             "train_acc": float("nan") if diverged and epoch == 2 else acc, "test_acc": acc})
    run("wt-adamw-lr0.01", "wt", "adamw", 1e-2, [0.5, 0.7])      # mean 0.6
    run("wt", "wt", "adamw", 1e-3, [0.8, 0.6])                   # mean 0.7: chosen
    run("wt-adamw-lr1e-05", "wt", "adamw", 1e-5, [0.9], diverged=True)  # NaN at the end counts as 0
    run("backprop-sgd-lr0.1", "backprop", "sgd", 1e-1, [0.9])
    run("backprop-sgd-lr0.01", "backprop", "sgd", 1e-2, [0.9])   # a tie: the larger lr wins
    table = figure6.sweep_selection(pd.DataFrame(rows))
    chosen = {(r.optimizer, r.method): r.lr for r in table.itertuples() if r.chosen}
    assert chosen == {("adamw", "wt"): 1e-3, ("sgd", "backprop"): 1e-1}
    assert len(table) == 5 and table["chosen"].sum() == 2


def _monitored_run(root, name, method, seeds, options=None, rows=4, empty=False):
    run = root / name / "e3"
    for seed in seeds:
        d = run / f"seed{seed}"
        d.mkdir(parents=True)
        write_config(d, "cifar10", 6, 128, method, seed, options)
        frame = pd.DataFrame({"step": range(0, 10 * rows, 10), "epoch": 1, "cosine": [0.1 * (i + 1) for i in range(rows)],
                              "cosine_layers.0": 0.2, "rank_layers.0": [30.0 - i for i in range(rows)]})
        (frame.iloc[:0] if empty else frame).to_csv(d / "monitor.csv", index=False)
    return [run / f"seed{seed}" / "monitor.csv" for seed in seeds]  # what a rule declares: each seed's file


def test_monitors_are_gathered_per_seed_with_the_power_and_an_unmonitored_run_is_named(tmp_path):
    files = [f for p in (0.5, 2) for f in _monitored_run(tmp_path, f"wt_sv_power-p{p:g}", "wt_sv_power", [0, 1, 2],
                                                          {"power": p})]
    monitors = run_io.load_monitors(files)
    assert len(monitors) == 2 * 3 * 4 and sorted(monitors["power"].unique()) == [0.5, 2.0]
    assert set(monitors.groupby("power")["seed"].nunique()) == {3}
    assert set(zip(monitors["dataset"], monitors["depth"], monitors["width"])) == {("cifar10", 6, 128)}  # the claims'
    figure5.draw(monitors, pd.DataFrame(columns=["run", "method", "epoch", "train_acc", "test_acc"]), monitors,
                 artifact_paths("figure5", tmp_path), "test")
    assert (tmp_path / "figure5.png").stat().st_size > 0
    silent = _monitored_run(tmp_path, "wt", "wt", [0], empty=True)
    with pytest.raises(ValueError, match="trained without monitor_every"):
        run_io.load_monitors(silent)


def test_cosine_auto_from_the_measurements_equals_the_table(tmp_path):
    from gradguess.analyses.guesses import reference_cosine

    rows = [{"epoch": e, "batch": b, "method": m, "mode": "joint", "cosine": c}
            for e in (0, 1, 2) for b in (0, 1) for m, c in (("wt", 0.01 * (e + 1) + 0.001 * b), ("directional", 3e-4))]
    measured = pd.DataFrame(rows)
    paths = []
    for e in (0, 1, 2):
        paths.append(tmp_path / f"epoch_{e}.csv")
        measured[measured["epoch"] == e].to_csv(paths[-1], index=False)
    table, _, _ = figure1.figure1_table(measured, 1)
    table.to_csv(tmp_path / "table.csv", index=False)
    expected = measured[(measured["method"] == "wt") & (measured["epoch"] >= 1)]["cosine"].mean()
    assert reference_cosine(paths, average_from_epoch=1) == pytest.approx(expected)
    assert reference_cosine([tmp_path / "table.csv"]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="no row for method 'wt' in mode 'per_layer'"):
        reference_cosine(paths, mode="per_layer")


def test_table1_puts_each_run_in_its_column_beside_the_papers_cell():
    def run(name, method, options, accs):
        return pd.DataFrame({"run": name, "seed": [0, 1], "epoch": 5, "method": method, "dataset": "cifar10",
                             "options": json.dumps(options), "test_acc": accs, "train_acc": 0.9})
    curves = pd.concat([run("bp", "backprop", {}, [0.70, 0.72]), run("ren", "activation_perturbation",
                        {"local_losses": True}, [0.69, 0.69]), run("ap", "activation_perturbation", {}, [0.5, 0.5]),
                        run("wt", "wt", {"local_losses": True}, [0.725, 0.725])])
    long, header, body = table1.table1(curves, {"adam": ["bp", "ren", "ap", "wt"], "augment": [], "augment_long": []})
    assert set(long["column"]) == {"backprop", "ren_et_al", "wt"}  # without local losses: not a Table 1 cell
    assert long.set_index("column").loc["wt", "test_acc_mean"] == pytest.approx(72.5)
    assert long.set_index("column").loc["backprop", "paper"] == 71.2
    assert header[1:] == ["Backprop", "Ren et al. (2022)", "Mixing", "W^T"]
    assert body[0][:3] == ["Reported by Ren et al. (quoted)", "66.4", "69.3"]
    assert body[1][0] == "Reproduced with Adam, ours: 5 epochs" and "(paper 72.5)" in body[1][4]
    assert body[1][3].startswith("–")


def test_table1_marks_a_cell_filled_by_an_earlier_rows_run():
    """Backprop is not trained longer in the 5000-epoch row: its cell there is the 500-epoch run, said so."""
    def run(name, method, options):
        return pd.DataFrame({"run": name, "seed": [0], "epoch": 5, "method": method, "dataset": "cifar10",
                             "options": json.dumps(options), "test_acc": [0.7], "train_acc": 0.9})
    curves = pd.concat([run("bp", "backprop", {}), run("wt", "wt", {"local_losses": True}),
                        run("wt_long", "wt", {"local_losses": True})])
    long, _, body = table1.table1(curves, {"adam": [], "augment": ["bp", "wt"], "augment_long": ["bp", "wt_long"]})
    reused = long.set_index(["row", "column"])["reused"]
    assert reused[("augment_long", "backprop")] == "augment" and reused[("augment_long", "wt")] == ""
    assert 'the run of "Augmentation (500 epochs)"' in body[3][1] and "the run of" not in body[3][4]
    assert "ours:" in body[2][0]


def settings(dataset="cifar10", depth=6, width=1024, epochs=50, table1="cifar10", batches=98):
    return {"figure1": {"dataset": dataset, "depth": depth, "width": width, "trajectory_epochs": epochs,
                        "optimizer": "adamw", "lr": 1e-4, "batch_size": 512, "batches_per_epoch": batches},
            "table1": {"dataset": table1}}


CIFAR_SUBSET = {"cifar10": {"train": 10_000, "test": 1_000, "origin": "local files"}}


def test_the_comparison_never_judges_toy_data_and_compares_the_papers_setting(tmp_path):
    from gradguess.report import comparison

    figures = tmp_path / "figs"
    figures.mkdir()
    # Table 2 on a toy dataset and on one of the paper's cells
    pd.DataFrame([
        {"dataset": "synthetic", "depth": 3, "width": 32, "method": "wt", "split": "train", "mean": 99.0},
        {"dataset": "mnist", "depth": 6, "width": 1024, "method": "self_sharpening", "split": "train", "mean": 90.0,
         "planned_epochs": 3, "optimizer": "stable_adamw", "lr": 1e-4, "batch_size": 512},
    ]).to_csv(figures / "table2.csv", index=False)
    pd.DataFrame([{"method": "wt", "mode": "joint", "cosine_mean": 0.03, "one_step_effectiveness_mean": 1e-3},
                  {"method": "directional", "mode": "", "cosine_mean": 3e-4, "one_step_effectiveness_mean": 1e-6}]
                 ).to_csv(figures / "figure1_table.csv", index=False)
    toy = comparison.write(figures, None, settings("synthetic", 6, 64), "test",
                           artifact_paths("comparison", tmp_path / "toy"))
    claims_ = toy[toy["kind"] == "claim"]
    assert (claims_["status"] != "holds").all()
    f1 = toy[toy["kind"] == "Figure 1"]
    assert (f1["status"] == "not measured").all() and "the paper's: cifar10 6x1024" in f1["note"].iloc[0]
    t2 = toy[toy["kind"] == "Table 2"]
    compared = t2[t2["status"] == "compared"]
    assert list(compared["key"]) == ["mnist (6, 1024) self_sharpening train"]  # the toy row is in no paper cell
    assert compared["difference"].iloc[0] == pytest.approx(90.0 - compared["paper"].iloc[0])
    assert compared["setting"].iloc[0] == "reduced" and "3 of 1,000 epochs" in compared["reduction"].iloc[0]
    real = comparison.write(figures, None, settings(epochs=3, batches=8), "test",
                            artifact_paths("comparison", tmp_path / "real"), data=CIFAR_SUBSET)
    judged = real[(real["kind"] == "claim") & (real["status"] != "not measured")].set_index("id")
    assert judged.loc["fig1_cosine_100x", "data"] == "cifar10: 10,000 training and 1,000 test examples (local files)"
    assert (judged["data"] != "").all()
    reduction = judged.loc["fig1_cosine_100x", "reduction"]
    assert judged.loc["fig1_cosine_100x", "setting"] == "reduced"
    for part in ("cifar10: 10,000 of 50,000 training examples", "3 of 50 trajectory epochs",
                 "8 of 98 batches per epoch"):
        assert part in reduction, reduction
    assert judged.loc["fig1_cosine_100x", "verdict_at_reduced_setting"] == "holds"
    assert judged.loc["fig1_cosine_100x", "verdict_at_paper_setting"] == ""
    f1 = real[(real["kind"] == "Figure 1") & (real["status"] == "compared")]
    assert set(f1["key"]) == {"wt cosine", "wt 1-step effectiveness", "directional cosine",
                              "directional 1-step effectiveness"}
    assert set(f1["setting"]) == {"reduced"}
    text = (tmp_path / "real" / "comparison.md").read_text()
    assert text.startswith("# The paper against ours") and "| `fig1_cosine_100x` (" in text
    assert "at the paper's setting 0 hold and 0 do not hold; at a reduced setting 1 hold and 0 do not hold" in text
    assert "**holds at a reduced setting**" in text and "| a reduced setting |" in text
    assert "Our data: cifar10: 10,000 training and 1,000 test examples (local files)." in text
    full = comparison.write(figures, None, settings(), "test", artifact_paths("comparison", tmp_path / "full"),
                            data={"cifar10": {"train": 50_000, "test": 10_000, "origin": "torchvision"}})
    at_paper = full[(full["kind"] == "claim")].set_index("id").loc["fig1_cosine_100x"]
    assert at_paper["setting"] == "paper" and at_paper["verdict_at_paper_setting"] == "holds"


def test_the_comparison_compares_table1_only_on_the_papers_mixer(tmp_path):
    from gradguess.report import claims, comparison

    figures = tmp_path / "figs"
    figures.mkdir()

    def table1(arch):
        pd.DataFrame([{"row": row, "column": column, "run": f"results/x/runs/cifar10/{arch}/{column}/e5",
                       "test_acc_mean": value, "test_acc_std": 0.5, "seeds": 2} for row, column, value in
                      (("adam", "wt", 73.0), ("adam", "ren_et_al", 70.0))]).to_csv(figures / "table1.csv", index=False)

    table1("mixer-b2-c16-p16-g2")
    toy = comparison.write(figures, None, settings(), "test", artifact_paths("comparison", tmp_path / "toy"))
    t1 = toy[toy["kind"] == "Table 1"]
    assert set(t1["status"]) <= {"not measured", "quoted by the paper"}
    assert "mixer-b2-c16-p16-g2" in " ".join(t1["note"].dropna())
    assert toy.set_index("id").loc["table1_wt_beats_ren", "status"] == "not measured"
    table1(claims.PAPER_MIXER)
    real = comparison.write(figures, None, settings(), "test", artifact_paths("comparison", tmp_path / "real"))
    compared = real[(real["kind"] == "Table 1") & (real["status"] == "compared")].set_index("key")
    assert sorted(compared["ours"]) == [70.0, 73.0] and all("Adam" in k for k in compared.index)
    assert "training set size not recorded" in compared["reduction"].iloc[0]  # no data description given
    assert real.set_index("id").loc["table1_wt_beats_ren", "status"] == "holds"
    assert comparison.write(figures, None, settings(table1="synthetic"), "test", artifact_paths("comparison", tmp_path / "syn")).set_index("id").loc[
        "table1_wt_beats_ren", "status"] == "not measured"


def test_a_panel_without_visible_data_is_found():
    import matplotlib.pyplot as plt

    from gradguess.report import plots

    fig, axes = plt.subplots(1, 4)
    axes[0].plot([1, 2], [3, 4])                      # a line: data
    axes[1].plot([1], [3])                            # one epoch as a line without a marker: invisible
    axes[2].plot([1], [3], **plots.markers([1]))      # the same point with a marker: data
    axes[3].set_title("nothing here")
    assert plots.empty_axes(fig) == ["untitled panel", "nothing here"]
    axes[1].fill_between([1, 2], [0, 0], [1, 1])      # a band: data
    assert plots.empty_axes(fig) == ["nothing here"]
    plt.close(fig)


def test_a_strict_run_refuses_a_figure_with_an_empty_panel(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    from gradguess.report import plots

    monkeypatch.setenv("GRADGUESS_STRICT_FIGURES", "1")
    fig, ax = plt.subplots()
    ax.set_title("empty")
    with pytest.raises(ValueError, match="empty"):
        plots.save(fig, artifact_paths("figure3", tmp_path), "test")
    assert not list(tmp_path.iterdir())
