"""Figure 5: self-sharpening's rising cosine (top) and its re-creation by singular-value powers (bottom)."""
from __future__ import annotations

import pandas as pd

from gradguess.report.claims.core import (TABLE2_ARCHS, Claim, NotMeasured, in_setting, need, observed,
                                          require_points, run_setting, verdict)
from gradguess.report.setting import Read, full

# Figure 5 (top) monitors Table 2's self-sharpening runs: the architecture is not stated, its >95% train
# accuracy is Table 2's 6x1024 cell (our reading)
SHARPENING = {**full("cifar10"), "architecture": Read("6x1024"), "epochs": Read(1000), "batch size": 512,
              "lr": 1e-4}
# A.2: 6x128, CIFAR10, batch 128, lr 1e-4, weight decay 0, 64 replicates, 50,000 iterations
SV_POWER = {**full("cifar10"), "architecture": "6x128", "batch size": 128, "lr": 1e-4, "weight decay": 0.0,
            "replicates": 64, "steps": 50_000}


def _window_means(series: pd.Series, share: float) -> tuple[float, float]:
    """Means of the first and the last `share` of a series ordered by step (at least one point each)."""
    n = max(1, int(len(series) * share))
    return float(series.iloc[:n].mean()), float(series.iloc[-n:].mean())


def check_sharpening_cosine(artifacts, share, min_late, rise, flat, points):
    df = need(artifacts, "monitors", ("method", "step", "cosine", "dataset", "depth", "width"))
    df = in_setting(df, "monitors", ["cifar10"], TABLE2_ARCHS)
    if not {"self_sharpening", "directional"} <= set(df["method"]):
        raise NotMeasured("monitors lack self_sharpening or directional")
    series = {m: g.groupby("step")["cosine"].mean().sort_index() for m, g in df.groupby("method")}
    for m in ("self_sharpening", "directional"):
        require_points(len(series[m]), points, f"{m}'s monitor curve")
    windows = {m: _window_means(s, share) for m, s in series.items()}
    early, late = windows["self_sharpening"]
    d_early, d_late = windows["directional"]
    ok = late >= min_late and late >= rise * max(early, 0.01) and abs(d_late - d_early) <= flat
    ours = run_setting(df[df["method"].isin(["self_sharpening", "directional"])])
    return verdict(ok, "guess cosine, first tenth of training -> last tenth: " + ", ".join(
        f"{m} {a:.3g} -> {b:.3g}" for m, (a, b) in windows.items()), ours, early=early, late=late)


def _rank_correlation(x, y) -> float:
    """Spearman's rank correlation (ties averaged), without scipy."""
    return float(pd.Series(list(x)).rank().corr(pd.Series(list(y)).rank()))


def check_sv_power(artifacts, min_powers, correlation, points):
    rank = "rank_layers.0"
    df = need(artifacts, "sv_power", ("power", "step", "cosine", rank, "dataset", "depth", "width"))
    df = in_setting(df, "sv_power", ["cifar10"], [(6, 128)])
    per_step = df.groupby(["power", "step"])[["cosine", rank]].mean()
    powers = sorted(per_step.index.get_level_values(0).unique())
    if len(powers) < min_powers:
        raise NotMeasured(f"sv_power has powers {powers}; the claim needs {min_powers} or more")
    require_points(int(per_step.groupby(level=0).size().min()), points, "each power's monitor curve")
    first = per_step.groupby(level=0).head(1).droplevel(1)
    last = per_step.groupby(level=0).tail(1).droplevel(1)
    rise = last["cosine"] - first["cosine"]
    r_rank = _rank_correlation(powers, last.loc[powers, rank])
    r_cos = _rank_correlation(powers, last.loc[powers, "cosine"])
    ok = r_rank <= -correlation and r_cos >= correlation and rise.idxmin() == powers[0]
    ours = {**run_setting(df), **observed(df, steps="total_steps")}
    if "seed" in df:
        ours["replicates"] = int(df.groupby("power")["seed"].nunique().min())
    ours.pop("seeds", None)
    return verdict(ok, f"over powers {', '.join(f'{p:g}' for p in powers)}: rank correlation of power with the "
                   f"final first-layer effective rank {r_rank:+.2f}, with the final cosine {r_cos:+.2f}; cosine "
                   f"rise per power " + ", ".join(f"{p:g}: {rise[p]:+.3f}" for p in powers), ours,
                   rank_correlation=r_rank, cosine_correlation=r_cos)


CLAIMS = [
    Claim("fig5_sharpening_cosine", "As seen in Figure 5, the cosine similarity increases sharply compared to other "
          "methods, such as Directional descent, where it stays nearly constant. ... This change drastically "
          "increases the cosine similarity to values as high as 0.6 over time.", "Figure 5 (top); Section 4.1",
          ("monitors",), "CIFAR10, a Table 2 architecture, curves of {points} or more monitored steps: "
          "self-sharpening's mean guess cosine over the last {share:.0%} of the steps >= {min_late:g} (half of 0.6) "
          "and >= {rise:g}x its first {share:.0%}'s; directional descent's changes by at most {flat:g}",
          check_sharpening_cosine, SHARPENING, {"share": 0.1, "min_late": 0.3, "rise": 3, "flat": 0.01,
                                                "points": 10}),
    Claim("fig5_sv_power", "We see that when a few singular values dominate, it leads to a lower weight matrix rank "
          "and higher cosine similarity ... Conversely, the lowest powers lead to the smallest increase.",
          "Figure 5 (bottom); Section 4.1", ("sv_power",), "6x128 CIFAR10, {min_powers} or more powers with "
          "{points} or more monitored steps each, replicates averaged: rank correlation of the power with the final "
          "first-layer effective rank <= -{correlation:g} and with the final cosine >= {correlation:g}; the lowest "
          "power has the smallest cosine rise", check_sv_power, SV_POWER,
          {"min_powers": 3, "correlation": 0.7, "points": 3}),
]
