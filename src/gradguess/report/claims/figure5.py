"""Figure 5: self-sharpening's rising cosine (top) and its re-creation by singular-value powers (bottom)."""
from __future__ import annotations

import pandas as pd

from gradguess.report.claims.core import (DOWNSTREAM_READING, SEEDS_READ, SPREAD_K, SPREAD_RULE, TABLE2_ARCHS,
                                          UNIFORM_READING, Claim, NotMeasured, Stat, combined_se, exceeds, in_setting,
                                          need, observed, require_points, require_seeds, run_setting, stat, verdict)
from gradguess.report.setting import Read, full

# Figure 5 (top) monitors Table 2's self-sharpening runs: the architecture is not stated, its >95% train
# accuracy is Table 2's 6x1024 cell (our reading); Table 2's seeds (our reading, 3)
SHARPENING = {**full("cifar10"), "architecture": Read("6x1024"), "epochs": Read(1000), "batch size": 512,
              "lr": 1e-4, "seeds": Read(SEEDS_READ), **DOWNSTREAM_READING, **UNIFORM_READING}
# A.2: 6x128, CIFAR10, batch 128, lr 1e-4, weight decay 0, 64 replicates (its seeds), 50,000 iterations
SV_POWER = {**full("cifar10"), "architecture": "6x128", "batch size": 128, "lr": 1e-4, "weight decay": 0.0,
            "replicates": 64, "steps": 50_000}


def _window_means(series: pd.Series, share: float) -> tuple[float, float]:
    """Means of the first and the last `share` of a series ordered by step (at least one point each)."""
    n = max(1, int(len(series) * share))
    return float(series.iloc[:n].mean()), float(series.iloc[-n:].mean())


def _windows(df: pd.DataFrame, method: str, share: float, points: int) -> dict:
    """Per seed, the mean cosine over the first and the last `share` of the monitored steps."""
    out, rows = {}, df[df["method"] == method]
    for seed, g in rows.groupby(rows["seed"] if "seed" in rows else pd.Series(0, index=rows.index)):
        s = g.groupby("step")["cosine"].mean().sort_index()
        require_points(len(s), points, f"{method}'s monitor curve")
        out[seed] = _window_means(s, share)
    return out


def check_sharpening_cosine(artifacts, share, min_late, rise, flat, points, k):
    df = need(artifacts, "monitors", ("method", "step", "cosine", "dataset", "depth", "width"))
    df = in_setting(df, "monitors", ["cifar10"], TABLE2_ARCHS)
    if not {"self_sharpening", "directional"} <= set(df["method"]):
        raise NotMeasured("monitors lack self_sharpening or directional")
    per_seed = {m: _windows(df, m, share, points) for m in ("self_sharpening", "directional")}
    early, late = (stat(w[i] for w in per_seed["self_sharpening"].values()) for i in (0, 1))
    d_early, d_late = (stat(w[i] for w in per_seed["directional"].values()).mean for i in (0, 1))
    rises = stat(b - a for a, b in per_seed["self_sharpening"].values())
    require_seeds({m: Stat(0.0, 0.0, len(w)) for m, w in per_seed.items()}, "Figure 5 (top)")
    # directional descent's cosine is ~3e-4: "nearly constant" is relative to itself (an absolute bound would hold
    # for any curve of that size)
    change = d_late / d_early - 1 if d_early > 0 else float("inf")
    ok = (late.mean >= min_late and late.mean >= rise * max(early.mean, 0.01) and exceeds(rises.mean, rises.se, k)
          and abs(change) <= flat)
    ours = run_setting(df[df["method"].isin(["self_sharpening", "directional"])])
    return verdict(ok, f"guess cosine, first {share:.0%} of training -> last, mean over {late.n} seeds: "
                   f"self_sharpening {early.mean:.3g} -> {late.mean:.3g} (rise {rises.mean:+.3g}, {k:g} SE = "
                   f"{k * rises.se:.2g}), directional {d_early:.3g} -> {d_late:.3g} ({change:+.0%})", ours,
                   early=early.mean, late=late.mean, directional_change=change)


def _rank_correlation(x, y) -> float:
    """Spearman's rank correlation (ties averaged), without scipy."""
    return float(pd.Series(list(x)).rank().corr(pd.Series(list(y)).rank()))


def check_sv_power(artifacts, min_powers, correlation, points, k):
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
    # the highest power's final cosine above the lowest's, beyond the spread of the replicates (each a seed)
    final = df[df["step"] == df.groupby("power")["step"].transform("max")]
    ends = {p: stat(final[final["power"] == p]["cosine"]) for p in (powers[0], powers[-1])}
    require_seeds({f"power {p:g}": s for p, s in ends.items()}, "Figure 5 (bottom)")
    diff = ends[powers[-1]].mean - ends[powers[0]].mean
    se = combined_se(ends[powers[-1]], ends[powers[0]])
    ok = r_rank <= -correlation and r_cos >= correlation and rise.idxmin() == powers[0] and exceeds(diff, se, k)
    ours = {**run_setting(df), **observed(df, steps="total_steps")}
    if "seed" in df:
        ours["replicates"] = int(df.groupby("power")["seed"].nunique().min())
    ours.pop("seeds", None)
    return verdict(ok, f"over powers {', '.join(f'{p:g}' for p in powers)}: rank correlation of power with the "
                   f"final first-layer effective rank {r_rank:+.2f}, with the final cosine {r_cos:+.2f}; final cosine "
                   f"power {powers[-1]:g} minus power {powers[0]:g}: {diff:+.3f} ({k:g} SE = {k * se:.3f}); cosine "
                   f"rise per power " + ", ".join(f"{p:g}: {rise[p]:+.3f}" for p in powers), ours,
                   rank_correlation=r_rank, cosine_correlation=r_cos)


CLAIMS = [
    Claim("fig5_sharpening_cosine", "As seen in Figure 5, the cosine similarity increases sharply compared to other "
          "methods, such as Directional descent, where it stays nearly constant. ... This change drastically "
          "increases the cosine similarity to values as high as 0.6 over time.", "Figure 5 (top); Section 4.1",
          ("monitors",), "CIFAR10, a Table 2 architecture, each seed's curve of {points} or more monitored steps, "
          "seeds averaged: self-sharpening's mean guess cosine over the last {share:.0%} of the steps >= "
          "{min_late:g} (half of 0.6) and >= {rise:g}x its first {share:.0%}'s, its rise > {k:g}x its standard "
          "error over seeds; directional descent's late mean within {flat:.0%} of its early one (relative: its "
          "cosine is ~3e-4); " + SPREAD_RULE,
          check_sharpening_cosine, SHARPENING, {"share": 0.1, "min_late": 0.3, "rise": 3, "flat": 0.5,
                                                "points": 10, "k": SPREAD_K},
          fails_on="self-sharpening's late cosine below 0.3 or 3x its early one, a rise within 2 SE, or directional's "
                   "cosine changing by more than 50% (e.g. 3e-4 -> 9e-4)"),
    Claim("fig5_sv_power", "We see that when a few singular values dominate, it leads to a lower weight matrix rank "
          "and higher cosine similarity ... Conversely, the lowest powers lead to the smallest increase.",
          "Figure 5 (bottom); Section 4.1", ("sv_power",), "6x128 CIFAR10, {min_powers} or more powers with "
          "{points} or more monitored steps each, replicates averaged: rank correlation of the power with the final "
          "first-layer effective rank <= -{correlation:g} and with the final cosine >= {correlation:g}; the lowest "
          "power has the smallest cosine rise; the highest power's final cosine above the lowest's by more than "
          "{k:g}x the combined standard error over replicates (one replicate: not measured)", check_sv_power, SV_POWER,
          {"min_powers": 3, "correlation": 0.7, "points": 3, "k": SPREAD_K},
          fails_on="rank correlations weaker than 0.7, the lowest power not the smallest rise, or the highest power's "
                   "final cosine within 2 SE of the lowest's"),
]
