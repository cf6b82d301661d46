"""The paper's quantitative claims, each a check of our artifacts: "holds", "does not hold" or "not measured".

`check_all(artifacts)` runs every claim in CLAIMS; `artifacts` maps a name to a pandas DataFrame (a missing name,
or a frame without the columns a claim needs, makes that claim "not measured"). Names and columns:

  figure1_table  method, cosine_mean, one_step_effectiveness_mean, dataset, depth, width
                 (paper_figures/<preset>/figure1_table.csv plus the Figure 1 trajectory's setting)
  table2         dataset, depth, width, method, split ("train"/"test"), mean (accuracy, percent; NaN, e.g. a
                 diverged run, counts as unmeasured) (paper_figures/<preset>/table2.csv)
  averaging      method, guesses, cosine, dataset, depth, width; any number of rows per (method, guesses), e.g.
                 one per example: they are averaged (Figure 4 left: <tree>/figure4/averaging.csv plus its setting)
  curves         method, optimizer, momentum, dataset, depth, width, epoch, train_acc (fraction 0-1), optional
                 seed and options (JSON text, e.g. '{"layers": 2}'): per-epoch curves of runs, as
                 gradguess.report.tables.load_runs returns them (Figures 4 middle/right and 7 left)
  subspace       k, activation, random (cosines), dataset, depth, width (Figure 2 right / Figure 10)
  table1         row ("adam", "aug500", "aug5000": the paper's names), method (backprop, ren_et_al,
                 activation_mixing, wt), value (test accuracy, percent), dataset, arch (the LocalMixer as
                 mixer-b<blocks>-c<channels>-p<patch>-g<groups>) (Table 1)
  mixer_curves   run, method, options (JSON text), seed, epoch, train_acc, test_acc (fractions), dataset, arch:
                 the LocalMixer runs with and without local losses (Figure 8)
  sweep          run, method, optimizer, seed, epoch, train_acc (fraction), dataset, depth, width: each
                 (optimizer, method)'s curve at its chosen learning rate (Figure 6, A.1)
  monitors       run, method, seed, step, cosine, dataset, depth, width: monitored runs' guess cosine over
                 training (Figure 5 top)
  sv_power       power, seed, step, cosine, rank_layers.0, dataset, depth, width: wt_sv_power replicates'
                 monitors (Figure 5 bottom)
  spectra        state, k, effective_rank, dataset, depth, width: the Jacobian through k layers (Figure 7 right)
  prompt_tuning  dataset (cub200, stanford_cars, stanford_dogs), method, accuracy (Figure 9)

A claim is only ever judged on the paper's own setting (its data sets and architectures): numbers from anything
else (the `synthetic` data set, a toy architecture) make it "not measured", never "holds".
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd

HOLDS, FAILS, NOT_MEASURED = "holds", "does not hold", "not measured"
PAPER_DATASETS = ("mnist", "svhn", "cifar10", "cifar100")
TABLE2_ARCHS = ((3, 128), (6, 128), (3, 1024), (6, 1024))
PROPOSED = ("activation_mixing", "wt", "downstream")  # Figure 1's "our methods" with a >1000x gain; "(ours)" in Table 2
PROMPT_DATASETS = ("cub200", "stanford_cars", "stanford_dogs")
COMPLEXITY = {"mnist": 0, "svhn": 1, "cifar10": 2, "cifar100": 3}  # Figure 3's order, simplest first
# Ren et al.'s CIFAR-10 LocalMixer "M/8/16" as config.yaml's `table1.mixer` reads it (see models/mixer.py)
PAPER_MIXER = "mixer-b4-c512-p4-g16"
ADAM_TYPE = ("adamw", "stable_adamw", "adam")


@dataclass(frozen=True)
class Verdict:
    status: str
    detail: str = ""
    measured: dict = field(default_factory=dict)


class NotMeasured(Exception):
    pass


@dataclass(frozen=True)
class Claim:
    id: str
    quote: str
    source: str
    needs: tuple[str, ...]
    tolerance: str
    test: Callable[[Mapping[str, pd.DataFrame]], Verdict]

    def check(self, artifacts: Mapping[str, pd.DataFrame]) -> Verdict:
        try:
            return self.test(artifacts)
        except NotMeasured as e:
            return Verdict(NOT_MEASURED, str(e))


def need(artifacts: Mapping[str, pd.DataFrame], name: str, columns: tuple[str, ...]) -> pd.DataFrame:
    df = artifacts.get(name)
    if df is None or len(df) == 0:
        raise NotMeasured(f"no {name} artifact")
    lacking = [c for c in columns if c not in df.columns]
    if lacking:
        raise NotMeasured(f"{name} lacks columns {lacking}")
    return df


def in_setting(df: pd.DataFrame, name: str, datasets, archs=None) -> pd.DataFrame:
    """The rows measured in the paper's setting (data sets; (depth, width) pairs or None for any)."""
    keep = df["dataset"].isin(datasets)
    if archs is not None:
        keep &= pd.Series(list(zip(df["depth"], df["width"])), index=df.index).isin(list(archs))
    if not keep.any():
        seen = sorted({(str(r.dataset), r.depth, r.width) for r in df[["dataset", "depth", "width"]]
                       .drop_duplicates().itertuples()}, key=str)
        raise NotMeasured(f"{name} was measured on {seen}, not in the paper's setting "
                          f"({list(datasets)}, architectures {list(archs) if archs else 'any'})")
    return df[keep]


def on_paper_mixer(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rows measured on the paper's LocalMixer setting: CIFAR10 and Ren et al.'s M/8/16."""
    keep = (df["dataset"] == "cifar10") & (df["arch"] == PAPER_MIXER)
    if not keep.any():
        seen = sorted({(str(r.dataset), str(r.arch)) for r in df[["dataset", "arch"]].drop_duplicates().itertuples()})
        raise NotMeasured(f"{name} was measured on {seen}, not the paper's (cifar10, {PAPER_MIXER})")
    return df[keep]


def verdict(ok: bool, detail: str, **measured) -> Verdict:
    return Verdict(HOLDS if ok else FAILS, detail, measured)


def last_epoch(curves: pd.DataFrame, keys: list[str], column: str) -> pd.Series:
    """A column at each run's last epoch, mean over seeds (percent), per `keys`."""
    by = keys + (["seed"] if "seed" in curves else [])
    last = curves.sort_values("epoch").groupby(by, dropna=False).tail(1)
    return last.groupby(keys, dropna=False)[column].mean() * 100


def final_train(curves: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Final train accuracy (percent), mean over seeds, per `keys`."""
    return last_epoch(curves, keys, "train_acc")


# ---- the checks ---------------------------------------------------------------------------------------------

def _figure1(artifacts) -> pd.DataFrame:
    df = need(artifacts, "figure1_table", ("method", "cosine_mean", "one_step_effectiveness_mean", "dataset", "depth",
                                           "width"))
    df = in_setting(df, "figure1_table", ["cifar10"], [(6, 1024)])
    if "mode" in df:  # our extension measures per_layer JVPs too; the paper's is the joint one
        df = df[df["mode"].fillna("joint").isin(["joint", ""])]
    return df.groupby("method")[["cosine_mean", "one_step_effectiveness_mean"]].mean()


def _ratio(a: float, b: float) -> float:
    return math.inf if b <= 0 < a else a / b


def check_fig1_cosine(artifacts) -> Verdict:
    f = _figure1(artifacts)
    if not {"wt", "directional"} <= set(f.index):
        raise NotMeasured("figure1_table lacks wt or directional")
    r = _ratio(f.loc["wt", "cosine_mean"], f.loc["directional", "cosine_mean"])
    return verdict(r >= 10 ** 1.5, f"W^T / directional mean cosine = {r:.3g} (paper: 0.030 / 0.0003 = 100)",
                   ratio=r)


def check_fig1_one_step(artifacts) -> Verdict:
    f = _figure1(artifacts)
    present = [m for m in PROPOSED if m in f.index]
    if "directional" not in f.index or not present:
        raise NotMeasured("figure1_table lacks directional or the proposed methods")
    ratios = {m: _ratio(f.loc[m, "one_step_effectiveness_mean"], f.loc["directional", "one_step_effectiveness_mean"])
              for m in present}
    if len(present) < len(PROPOSED):
        raise NotMeasured(f"figure1_table lacks {sorted(set(PROPOSED) - set(present))}; measured {ratios}")
    return verdict(all(r >= 500 for r in ratios.values()),
                   "1-step effectiveness / directional's: " + ", ".join(f"{m} {r:.3g}" for m, r in ratios.items())
                   + " (paper: mixing 3400, W^T 1700, downstream 2700)", **ratios)


def check_table2_beats_directional(artifacts) -> Verdict:
    df = need(artifacts, "table2", ("dataset", "depth", "width", "method", "split", "mean")).dropna(subset=["mean"])
    df = in_setting(df[df["split"] == "train"], "table2", PAPER_DATASETS, TABLE2_ARCHS)
    losses, cells = [], 0
    for (dataset, depth, width), g in df.groupby(["dataset", "depth", "width"]):
        acc = g.groupby("method")["mean"].mean()
        if "directional" not in acc or not any(m in acc for m in PROPOSED):
            continue
        cells += 1
        losses += [f"{m} {acc[m]:.1f} <= directional {acc['directional']:.1f} ({dataset}, {depth}x{width})"
                   for m in PROPOSED if m in acc and not acc[m] > acc["directional"]]
    if not cells:
        raise NotMeasured("table2 has no cell with directional and a proposed method")
    return verdict(not losses, "; ".join(losses) or f"every proposed method above directional in {cells} of 16 "
                   "(dataset, architecture) cells", cells=cells, losses=losses)


def check_fig3_gap_grows(artifacts) -> Verdict:
    df = need(artifacts, "table2", ("dataset", "depth", "width", "method", "split", "mean")).dropna(subset=["mean"])
    df = in_setting(df, "table2", PAPER_DATASETS, TABLE2_ARCHS)
    found = {}
    for (depth, width), g in df.groupby(["depth", "width"]):
        t = g.pivot_table(index=["dataset", "method"], columns="split", values="mean")
        gaps = {}
        for dataset in sorted(set(g["dataset"]), key=COMPLEXITY.get):
            cell = t.loc[dataset]
            ours = [m for m in PROPOSED if m in cell.index]
            if "backprop" in cell.index and ours and {"train", "test"} <= set(cell.columns):
                gaps[dataset] = (cell.loc["backprop", "train"] - cell.loc[ours, "train"].mean(),
                                 cell.loc["backprop", "test"] - cell.loc[ours, "test"].mean())
        if len(gaps) >= 2:
            found[(depth, width)] = gaps
    if not found:
        raise NotMeasured("table2 has no architecture with backprop and a proposed method on two or more of the "
                          "paper's datasets")
    ok, parts = True, []
    for (depth, width), gaps in found.items():
        simple, complex_ = min(gaps, key=COMPLEXITY.get), max(gaps, key=COMPLEXITY.get)
        (tr_s, _), (tr_c, te_c) = gaps[simple], gaps[complex_]
        ok &= bool(tr_c > tr_s and te_c < tr_c)
        parts.append(f"{depth}x{width}: train gap {simple} {tr_s:.1f}, {complex_} {tr_c:.1f}; test gap "
                     f"{complex_} {te_c:.1f}")
    return verdict(ok, "; ".join(parts) + " (backprop minus the proposed methods' mean, points)")


def check_fig4_saturation(artifacts) -> Verdict:
    df = need(artifacts, "averaging", ("method", "guesses", "cosine", "dataset", "depth", "width"))
    df = in_setting(df, "averaging", ["cifar10"], [(6, 1024)])
    cos = df.groupby(["method", "guesses"])["cosine"].mean()
    ratios = {}
    for m in ("wt", "activation_mixing", "activation_perturbation"):
        if m not in cos.index.get_level_values(0):
            raise NotMeasured(f"averaging lacks {m}")
        c = cos.loc[m]
        if c.index.max() < 4096:
            raise NotMeasured(f"{m} averaged up to {c.index.max()} guesses; the claim needs >= 4096 (paper: 8192)")
        near = min(c.index, key=lambda g: abs(math.log2(g) - 10))
        ratios[m] = c.loc[c.index.max()] / c.loc[near]
    ok = ratios["wt"] <= 1.1 and ratios["activation_mixing"] <= 1.1 and ratios["activation_perturbation"] >= 1.25
    detail = "cosine at the most guesses / at ~1024: " + ", ".join(f"{m} {r:.3g}" for m, r in ratios.items())
    if "limit" in df and df.loc[df["method"] == "wt", "limit"].notna().any():
        rows = df[df["method"] == "wt"]
        detail += (f"; W^T's cosine at ~1024 and at {int(rows['guesses'].max())} guesses: "
                   f"{cos.loc['wt'].loc[near]:.3g}, {cos.loc['wt'].iloc[-1]:.3g}, of its mean estimate (where it "
                   f"levels off): {rows['limit'].mean():.3g}")
    return verdict(ok, detail, **ratios)


def _curves(artifacts, datasets=("cifar10",), archs=((6, 1024),)) -> pd.DataFrame:
    df = need(artifacts, "curves", ("method", "optimizer", "momentum", "dataset", "depth", "width", "epoch",
                                    "train_acc"))
    return in_setting(df, "curves", datasets, archs)


def check_fig4_momentum(artifacts) -> Verdict:
    df = _curves(artifacts)
    df = df[(df["optimizer"] == "sgd") & df["method"].isin(["wt", "cosine_matched_directional"])]
    df = df.assign(with_momentum=df["momentum"].fillna(0) > 0)
    acc = final_train(df, ["with_momentum", "method"])
    try:
        gaps = {w: acc[(w, "cosine_matched_directional")] - acc[(w, "wt")] for w in (True, False)}
    except KeyError:
        raise NotMeasured("curves lack SGD runs of wt and cosine_matched_directional, with and without momentum")
    ok = gaps[True] >= 2 and abs(gaps[False]) <= gaps[True] / 3
    return verdict(ok, f"final train accuracy, cosine-matched minus W^T: {gaps[True]:+.1f} points with momentum, "
                   f"{gaps[False]:+.1f} without", gap_momentum=gaps[True], gap_no_momentum=gaps[False])


def check_fig4_matched(artifacts) -> Verdict:
    df = _curves(artifacts)
    df = df[(df["optimizer"] != "sgd") & df["method"].isin(["wt", "cosine_matched_directional", "directional"])]
    acc = final_train(df, ["method"])
    if len(acc) < 3:
        raise NotMeasured("curves lack Adam-type runs of directional, wt and cosine_matched_directional")
    ok = acc["cosine_matched_directional"] > acc["wt"] + 1 and acc["wt"] > acc["directional"] + 1
    return verdict(ok, "final train accuracy: " + ", ".join(f"{m} {v:.1f}" for m, v in acc.items()), **acc.to_dict())


def check_fig4_cosine_suffices(artifacts) -> Verdict:
    df = _curves(artifacts)
    df = df[(df["optimizer"] != "sgd") & (df["method"] == "cosine_matched_directional")]
    if df.empty:
        raise NotMeasured("curves lack Adam-type runs of cosine_matched_directional")
    acc = float(final_train(df, ["method"]).iloc[0])
    return verdict(acc >= 80, f"cosine-matched directional descent's final train accuracy {acc:.1f}", accuracy=acc)


def check_self_sharpening(artifacts) -> Verdict:
    df = need(artifacts, "table2", ("dataset", "depth", "width", "method", "split", "mean")).dropna(subset=["mean"])
    df = in_setting(df, "table2", ["cifar10"], TABLE2_ARCHS)
    t = df.pivot_table(index=["depth", "width", "method"], columns="split", values="mean")
    found = {}
    for depth, width in TABLE2_ARCHS:
        if (depth, width, "self_sharpening") not in t.index:
            continue
        cell = t.loc[(depth, width)]
        ss = cell.loc["self_sharpening"]
        gap = cell["train"] - cell["test"]
        below_backprop = "backprop" in cell.index and ss["test"] < cell.loc["backprop", "test"]
        found[(depth, width)] = (ss["train"] > 95 and below_backprop and gap.idxmax() == "self_sharpening",
                                 float(ss["train"]), float(ss["test"]))
    if not found:
        raise NotMeasured("table2 has no self_sharpening on CIFAR10")
    ok = any(v[0] for v in found.values())
    return verdict(ok, "; ".join(f"{d}x{w}: train {tr:.1f}, test {te:.1f}" for (d, w), (_, tr, te) in found.items())
                   + " (needs train > 95, test below backprop's and the largest train-test gap, in some architecture)",
                   cells={f"{d}x{w}": v for (d, w), v in found.items()})


def _window_means(series: pd.Series, share: float = 0.1) -> tuple[float, float]:
    """Means of the first and the last `share` of a series ordered by step (at least one point each)."""
    n = max(1, int(len(series) * share))
    return float(series.iloc[:n].mean()), float(series.iloc[-n:].mean())


def check_fig5_sharpening_cosine(artifacts) -> Verdict:
    df = need(artifacts, "monitors", ("method", "step", "cosine", "dataset", "depth", "width"))
    df = in_setting(df, "monitors", ["cifar10"], TABLE2_ARCHS)
    if not {"self_sharpening", "directional"} <= set(df["method"]):
        raise NotMeasured("monitors lack self_sharpening or directional")
    windows = {m: _window_means(g.groupby("step")["cosine"].mean().sort_index()) for m, g in df.groupby("method")}
    early, late = windows["self_sharpening"]
    d_early, d_late = windows["directional"]
    ok = late >= 0.3 and late >= 3 * max(early, 0.01) and abs(d_late - d_early) <= 0.01
    return verdict(ok, "guess cosine, first tenth of training -> last tenth: " + ", ".join(
        f"{m} {a:.3g} -> {b:.3g}" for m, (a, b) in windows.items()), early=early, late=late)


def _rank_correlation(x, y) -> float:
    """Spearman's rank correlation (ties averaged), without scipy."""
    return float(pd.Series(list(x)).rank().corr(pd.Series(list(y)).rank()))


def check_fig5_sv_power(artifacts) -> Verdict:
    rank = "rank_layers.0"
    df = need(artifacts, "sv_power", ("power", "step", "cosine", rank, "dataset", "depth", "width"))
    df = in_setting(df, "sv_power", ["cifar10"], [(6, 128)])
    per_step = df.groupby(["power", "step"])[["cosine", rank]].mean()
    powers = sorted(per_step.index.get_level_values(0).unique())
    if len(powers) < 3:
        raise NotMeasured(f"sv_power has powers {powers}; the claim needs three or more")
    first = per_step.groupby(level=0).head(1).droplevel(1)
    last = per_step.groupby(level=0).tail(1).droplevel(1)
    rise = last["cosine"] - first["cosine"]
    r_rank = _rank_correlation(powers, last.loc[powers, rank])
    r_cos = _rank_correlation(powers, last.loc[powers, "cosine"])
    ok = r_rank <= -0.7 and r_cos >= 0.7 and rise.idxmin() == powers[0]
    return verdict(ok, f"over powers {', '.join(f'{p:g}' for p in powers)}: rank correlation of power with the "
                   f"final first-layer effective rank {r_rank:+.2f}, with the final cosine {r_cos:+.2f}; cosine "
                   f"rise per power " + ", ".join(f"{p:g}: {rise[p]:+.3f}" for p in powers),
                   rank_correlation=r_rank, cosine_correlation=r_cos)


def check_subspace(artifacts) -> Verdict:
    df = need(artifacts, "subspace", ("k", "activation", "random", "dataset", "depth", "width"))
    df = in_setting(df, "subspace", PAPER_DATASETS, [(d, 1024) for d in (3, 4, 6)])
    few = df[df["k"] < 10]
    if few.empty:
        raise NotMeasured("subspace has no k < 10")
    act, rnd = float(few["activation"].max()), float(few["random"].max())
    return verdict(act >= 0.4 and rnd <= 0.2, f"k < 10: activation subspace up to {act:.3f}, random up to {rnd:.3f} "
                   "(paper: 0.5 vs 0.1)", activation=act, random=rnd)


def check_downstream_layers(artifacts) -> Verdict:
    df = _curves(artifacts)
    df = df[df["method"] == "downstream"]
    def layers(options) -> int:
        return json.loads(options if isinstance(options, str) and options else "{}").get("layers", 1)

    layers = df["options"].map(layers) if "options" in df else 1
    acc = final_train(df.assign(layers=layers), ["layers"])
    if not {1, 2} <= set(acc.index):
        raise NotMeasured("curves lack 1- and 2-layer downstream runs")
    return verdict(acc[2] <= acc[1] + 1, f"final train accuracy: 1-layer {acc[1]:.1f}, 2-layer {acc[2]:.1f}",
                   one_layer=float(acc[1]), two_layers=float(acc[2]))


def _sweep(artifacts) -> pd.DataFrame:
    df = need(artifacts, "sweep", ("method", "optimizer", "epoch", "train_acc", "dataset", "depth", "width"))
    return in_setting(df, "sweep", ["cifar10"], [(3, 128)])


def check_fig6_backprop_fastest(artifacts) -> Verdict:
    df = _sweep(artifacts)
    parts, ok, judged = [], True, 0
    for optimizer, g in df.groupby("optimizer"):
        if "backprop" not in set(g["method"]) or g["method"].nunique() < 2:
            continue
        epochs = g["epoch"].max()
        bp = g[(g["method"] == "backprop") & (g["epoch"] >= epochs / 10)]
        early = float(bp[bp["epoch"] == bp["epoch"].min()]["train_acc"].mean() * 100)
        others = final_train(g[g["method"] != "backprop"], ["method"])
        judged += 1
        ok &= bool(early >= others.max())
        parts.append(f"{optimizer}: backprop at epoch {bp['epoch'].min():g} of {epochs:g} {early:.1f}, best other "
                     f"final {others.max():.1f} ({others.idxmax()})")
    if not judged:
        raise NotMeasured("sweep has no optimizer with backprop and another method")
    return verdict(ok, "; ".join(parts))


def check_fig6_adam_helps(artifacts) -> Verdict:
    df = _sweep(artifacts)
    acc = final_train(df, ["method", "optimizer"])
    gains = {}
    for method in ("directional", *PROPOSED):
        if method not in acc.index.get_level_values(0):
            continue
        mine = acc.loc[method]
        adam = [o for o in mine.index if o in ADAM_TYPE]
        if "sgd" in mine.index and adam:
            gains[method] = float(mine[adam].max() - mine["sgd"])
    if "directional" not in gains or len(gains) < 2:
        raise NotMeasured(f"sweep needs SGD and an Adam-type optimizer for directional and a proposed method; has "
                          f"{sorted(gains)}")
    return verdict(all(g >= 5 for g in gains.values()), "best Adam-type minus SGD final train accuracy: "
                   + ", ".join(f"{m} {g:+.1f}" for m, g in gains.items()), **gains)


def check_fig7_jacobian_rank(artifacts) -> Verdict:
    df = need(artifacts, "spectra", ("state", "k", "effective_rank", "dataset", "depth", "width"))
    df = in_setting(df, "spectra", PAPER_DATASETS, [(6, 256)])
    ranks = df.groupby(["state", "k"])["effective_rank"].first()
    if ranks.index.get_level_values(1).nunique() < 2:
        raise NotMeasured("spectra have fewer than two depths k")
    ok, parts = True, []
    for state, r in ranks.groupby(level=0):
        r = r.droplevel(0).sort_index()
        ok &= bool((r.diff().dropna() < 0).all())
        parts.append(f"{state}: " + ", ".join(f"k={k:g} {v:.1f}" for k, v in r.items()))
    return verdict(ok, "effective rank of the Jacobian through k layers: " + "; ".join(parts))


def _table1(artifacts) -> pd.DataFrame:
    df = on_paper_mixer(need(artifacts, "table1", ("row", "method", "value", "dataset", "arch")), "table1")
    return df.pivot_table(index="row", columns="method", values="value")


def check_table1(artifacts) -> Verdict:
    t = _table1(artifacts)
    if not {"wt", "ren_et_al"} <= set(t.columns) or t[["wt", "ren_et_al"]].dropna().empty:
        raise NotMeasured("table1 lacks wt and ren_et_al in a common row")
    t = t[["wt", "ren_et_al"]].dropna()
    return verdict(bool((t["wt"] > t["ren_et_al"]).all()),
                   "; ".join(f"{r}: W^T {w:.1f} vs Ren et al. {e:.1f}" for r, (w, e) in t.iterrows()))


def check_table1_augmentation(artifacts) -> Verdict:
    t = _table1(artifacts)
    if not {"adam", "aug5000"} <= set(t.index):
        raise NotMeasured(f"table1 has rows {sorted(t.index)}; the claim needs adam and aug5000")
    both = t.loc[["adam", "aug5000"]].dropna(axis=1)
    if both.empty:
        raise NotMeasured("no method measured in both the adam and the aug5000 row")
    gains = (both.loc["aug5000"] - both.loc["adam"]).to_dict()
    return verdict(all(g > 0 for g in gains.values()), "augmented (5000 epochs) minus Adam row, test accuracy: "
                   + ", ".join(f"{m} {g:+.1f}" for m, g in gains.items()) + " (paper: +0.6 to +6.4)", **gains)


def _mixer_curves(artifacts) -> pd.DataFrame:
    df = on_paper_mixer(need(artifacts, "mixer_curves", ("run", "method", "options", "epoch", "train_acc", "test_acc",
                                                         "dataset", "arch")), "mixer_curves")
    local = df["options"].map(lambda o: bool(json.loads(o or "{}").get("local_losses")))
    return df.assign(local=local | (df["method"] == "backprop"))


def check_fig8_local_losses(artifacts) -> Verdict:
    df = _mixer_curves(artifacts)
    acc = last_epoch(df[df["method"] != "backprop"], ["method", "local"], "test_acc")
    methods = [m for m in acc.index.get_level_values(0).unique() if {(m, True), (m, False)} <= set(acc.index)]
    if not methods:
        raise NotMeasured("mixer_curves have no method both with and without local losses")
    drops = {m: acc[(m, True)] - acc[(m, False)] for m in methods}
    ok = all(d >= 5 for d in drops.values())
    detail = "test accuracy with minus without local losses: " + ", ".join(f"{m} {d:+.1f}" for m, d in drops.items())
    measured = dict(drops)
    if {"wt", "activation_perturbation"} <= set(methods):
        gap = {loc: acc[("wt", loc)] - acc[("activation_perturbation", loc)] for loc in (True, False)}
        ok = ok and gap[False] > gap[True]
        detail += f"; W^T minus activation perturbation: {gap[True]:+.1f} with, {gap[False]:+.1f} without"
        measured.update(gap_local=gap[True], gap_no_local=gap[False])
    return verdict(ok, detail, **measured)


def check_fig8_generalisation(artifacts) -> Verdict:
    df = _mixer_curves(artifacts)
    df = df[df["local"] & df["method"].isin(["wt", "backprop"])]
    if set(df["method"]) != {"wt", "backprop"}:
        raise NotMeasured("mixer_curves lack W^T (local losses) or backprop")
    per_epoch = {m: g.groupby("epoch")[["train_acc", "test_acc"]].mean().sort_values("train_acc") * 100
                 for m, g in df.groupby("method")}
    lo = max(c["train_acc"].min() for c in per_epoch.values())
    hi = min(c["train_acc"].max() for c in per_epoch.values())
    if not hi > lo:
        raise NotMeasured(f"W^T's and backprop's train accuracies do not overlap ({lo:.1f} > {hi:.1f})")
    grid = np.linspace(lo, hi, 21)
    test = {m: np.interp(grid, c["train_acc"], c["test_acc"]) for m, c in per_epoch.items()}
    share = float(np.mean(test["wt"] >= test["backprop"]))
    final = final_train(df, ["method"])
    ok = share >= 0.8 and final["backprop"] > final["wt"]
    return verdict(ok, f"at equal train accuracy ({lo:.1f}-{hi:.1f}%), W^T's test accuracy >= backprop's at "
                   f"{share:.0%} of points; final train accuracy backprop {final['backprop']:.1f}, W^T "
                   f"{final['wt']:.1f}", share=share)


def check_prompt_tuning(artifacts) -> Verdict:
    df = need(artifacts, "prompt_tuning", ("dataset", "method", "accuracy"))
    t = df.pivot_table(index="dataset", columns="method", values="accuracy")
    done = [d for d in PROMPT_DATASETS if d in t.index and {"wt", "directional"} <= set(t.columns)
            and not t.loc[d, ["wt", "directional"]].isna().any()]
    detail = "; ".join(f"{d}: W^T {t.loc[d, 'wt']:.1f} vs directional {t.loc[d, 'directional']:.1f}" for d in done)
    if any(t.loc[d, "wt"] <= t.loc[d, "directional"] for d in done):
        return Verdict(FAILS, detail)
    if len(done) < len(PROMPT_DATASETS):
        raise NotMeasured(f"measured {done or 'none'} of {list(PROMPT_DATASETS)}: {detail}")
    return Verdict(HOLDS, detail)


CLAIMS = [
    Claim("fig1_cosine_100x", "Compared to directional descent, our proposed methods like W^T achieve approximately "
          "100x larger average cosine similarity.", "Figure 1 caption; Section 4 ('hundreds of times higher')",
          ("figure1_table",), "ratio of mean cosines >= 10^1.5 (half an order of magnitude below 100; more is fine)",
          check_fig1_cosine),
    Claim("fig1_one_step_1000x", "Our methods reduce the loss more than 1000x more for a single batch.",
          "Figure 1 caption; Section 4 ('thousands of times more effective')", ("figure1_table",),
          "mixing, W^T and downstream each >= 500x directional's mean 1-step effectiveness (factor 2: that mean is "
          "1e-6 ± 1e-6 in the paper). Activation perturbation is left out: 690x in the paper's own table",
          check_fig1_one_step),
    Claim("table2_beats_directional", "We see that for every dataset, our proposed methods achieve significantly "
          "higher accuracy than directional descent.", "Figure 3 caption; Table 2", ("table2",),
          "strictly higher mean train accuracy for mixing, W^T and downstream in every measured (dataset, "
          "architecture) cell of the paper's grid", check_table2_beats_directional),
    Claim("fig3_gap_grows", "The gap between our methods and backprop training accuracy increases with dataset "
          "complexity (e.g. CIFAR100 vs. MNIST), whereas test accuracy is more comparable.", "Figure 3 caption; "
          "Section 4 (Training MLPs)", ("table2",), "per architecture with two or more of the paper's datasets: "
          "backprop minus the proposed methods' mean train accuracy larger on the most complex dataset (order MNIST, "
          "SVHN, CIFAR10, CIFAR100) than on the simplest, and the test gap there smaller than the train gap",
          check_fig3_gap_grows),
    Claim("fig4_saturation", "We find that methods such as W^T and activation mixing saturate in cosine similarity "
          "after approximately 1000 guesses, whereas the unbiased \"activation perturbation\" baseline improves "
          "consistently with more samples.", "Figure 4 (left); Section 4 (Effect of bias)", ("averaging",),
          "cosine at the most guesses (>= 4096) over cosine at ~1024: <= 1.1 for W^T and mixing, >= 1.25 for "
          "activation perturbation", check_fig4_saturation),
    Claim("fig4_matched_cosine", "While W^T converges significantly faster than the original directional descent, "
          "its bias hampers its convergence speed, especially when compared to the modified directional descent.",
          "Figure 4 (middle); Section 4 (Effect of bias vs. variance)", ("curves",),
          "final train accuracy (not SGD; all cosine-matched runs pooled): cosine-matched > W^T > directional, "
          "each by more than 1 point", check_fig4_matched),
    Claim("fig4_momentum", "We find that when momentum is used, bias causes a large slowdown for our method related "
          "to the unbiased version ... However, without momentum, the difference between the two conditions is "
          "negligible.", "Figure 4 (right); Section 4 (Role of momentum)", ("curves",),
          "SGD, final train accuracy: cosine-matched minus W^T >= 2 points with momentum, and without momentum at "
          "most a third of that in size", check_fig4_momentum),
    Claim("fig4_cosine_suffices", "This experiment also highlights that a cosine similarity of 0.02 is sufficient "
          "to reach high training accuracy for datasets such as CIFAR10.", "Figure 4 (middle); Section 4 (Effect of "
          "bias vs. variance)", ("curves",), "cosine-matched directional descent (Adam-type optimizer, 6x1024 "
          "CIFAR10): final train accuracy >= 80%", check_fig4_cosine_suffices),
    Claim("self_sharpening", "This change drastically increases the cosine similarity ... the training accuracy also "
          "reaches > 95% on CIFAR10. However, ... it also hurts generalization, reaching only 33% test accuracy.",
          "Section 4.1; Figure 5; Table 2 (D:6, W:1024: 97.5 train, 33.5 test)", ("table2",),
          "CIFAR10, some paper architecture: self-sharpening train > 95, test below backprop's, and the largest "
          "train-test gap of all methods", check_self_sharpening),
    Claim("fig5_sharpening_cosine", "As seen in Figure 5, the cosine similarity increases sharply compared to other "
          "methods, such as Directional descent, where it stays nearly constant. ... This change drastically "
          "increases the cosine similarity to values as high as 0.6 over time.", "Figure 5 (top); Section 4.1",
          ("monitors",), "CIFAR10, a Table 2 architecture: self-sharpening's mean guess cosine over the last tenth "
          "of the monitored steps >= 0.3 (half of 0.6) and >= 3x its first tenth's; directional descent's changes "
          "by at most 0.01", check_fig5_sharpening_cosine),
    Claim("fig5_sv_power", "We see that when a few singular values dominate, it leads to a lower weight matrix rank "
          "and higher cosine similarity ... Conversely, the lowest powers lead to the smallest increase.",
          "Figure 5 (bottom); Section 4.1", ("sv_power",), "6x128 CIFAR10, three or more powers, replicates "
          "averaged: rank correlation of the power with the final first-layer effective rank <= -0.7 and with the "
          "final cosine >= 0.7; the lowest power has the smallest cosine rise", check_fig5_sv_power),
    Claim("subspace_cosine", "... getting cosine similarity as high as 0.5 with less than 10 principal components "
          "(in contrast, random subspace gets 0.1 cosine similarity).", "Figure 2 (right); Section 4",
          ("subspace",), "k < 10: max activation-subspace cosine >= 0.4 and max random-subspace cosine <= 0.2",
          check_subspace),
    Claim("downstream_layers", "We see that 2-layer downstream has no advantage over 1-layer downstream.",
          "Figure 7 (left); A.3", ("curves",), "final train accuracy of 2-layer <= 1-layer's + 1 point",
          check_downstream_layers),
    Claim("fig7_jacobian_rank", "The Jacobian for more layers has a faster-decaying spectrum and thus a lower "
          "effective rank, which makes it easier to guess the gradient.", "Figure 7 (right); A.3", ("spectra",),
          "6x256 MLP on a paper dataset: effective rank strictly decreasing in k, at every state measured",
          check_fig7_jacobian_rank),
    Claim("fig6_backprop_fastest", "We see that backprop predictably converges much faster than other methods.",
          "Figure 6; A.1", ("sweep",), "3x128 CIFAR10, each optimizer at its chosen learning rates: backprop's "
          "train accuracy at a tenth of the epochs >= every other method's final", check_fig6_backprop_fastest),
    Claim("fig6_adam_helps", "... gradient guessing methods such as directional descent and ours benefit greatly "
          "from Adam.", "Figure 6; A.1", ("sweep",), "3x128 CIFAR10: for directional descent and each proposed "
          "method swept, the best Adam-type optimizer's final train accuracy >= SGD's + 5 points",
          check_fig6_adam_helps),
    Claim("table1_wt_beats_ren", "Our method W^T achieves comparable test accuracy to backprop and higher than "
          "activation perturbation.", "Table 1 caption; Section 4 (Comparison against Ren et al.)", ("table1",),
          "W^T test accuracy strictly above Ren et al.'s in every measured row", check_table1),
    Claim("table1_augmentation", "Adam significantly boosts the model accuracy for all baselines and our methods, "
          "and the same is true for image augmentations.", "Table 1; Section 4 (Comparison against Ren et al.)",
          ("table1",), "every method measured in both rows: test accuracy of row (c) (augmentation, 5000 epochs) "
          "above row (a) (Adam). Row (b) is left out: the paper's own Mixing drops there (68.8 -> 68.2)",
          check_table1_augmentation),
    Claim("fig8_local_losses", "We see that the overall accuracy for each model is much lower without local losses, "
          "and the gap between W^T and activation perturbation is even larger.", "Figure 8; A.4",
          ("mixer_curves",), "LocalMixer on CIFAR10: final test accuracy with local losses >= without + 5 points "
          "for every method run both ways; W^T minus activation perturbation larger without local losses",
          check_fig8_local_losses),
    Claim("fig8_generalisation", "... for any given train accuracy, our models generalize better than backprop "
          "despite backprop achieving better training accuracy.", "Figure 8 (right); A.4; Section 4",
          ("mixer_curves",), "LocalMixer on CIFAR10: on the train-accuracy range both reach, W^T's (local "
          "losses) test accuracy >= backprop's at >= 80% of 21 evenly spaced points, and backprop's final train "
          "accuracy higher", check_fig8_generalisation),
    Claim("fig9_prompt_tuning", "Figure 9 shows that our W^T method consistently outperforms directional descent for "
          "all fine-tuning datasets (CUB-200, Stanford Cars, Stanford Dogs).", "Figure 9; A.5", ("prompt_tuning",),
          "W^T strictly above directional on each of the three data sets", check_prompt_tuning),
]


def check_all(artifacts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per claim: id, source, status, detail, tolerance."""
    rows = []
    for c in CLAIMS:
        v = c.check(artifacts)
        rows.append({"id": c.id, "source": c.source, "status": v.status, "detail": v.detail, "tolerance": c.tolerance})
    return pd.DataFrame(rows)
