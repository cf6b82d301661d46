"""Figure 2 (right) / Figure 10's subspaces, and the appendix's Figures 6 and 7: the learning-rate sweep, more
downstream layers, Jacobian spectra."""
from __future__ import annotations

import json

from gradguess.report.claims.core import (ADAM_TYPE, CHANCE_FACTOR, DOWNSTREAM_READING, PAPER_DATASETS, PROPOSED,
                                          SEEDS_READ, SPREAD_K, SPREAD_RULE, Claim, NotMeasured, Stat, combined_se,
                                          data_of, exceeds, in_setting, need, require_compared, require_points,
                                          run_setting, seed_finals, stat, verdict)
from gradguess.report.setting import Read, full

# §4 "Gradients and activations ...": depth 3, 4 or 6, width 1024, all 20 training epochs; no data set named; one
# trajectory per depth (our reading: "MLPs of depth 3,4, or 6")
SUBSPACE = {"architecture": ["3x1024", "4x1024", "6x1024"], "trajectory epochs": 20, "seeds": Read(1)}
# A.3: "we train multiple models" on the 6x1024 CIFAR setting; length, optimizer and seeds are Table 2's (our
# reading)
DOWNSTREAM = {**full("cifar10"), "architecture": "6x1024", "epochs": Read(1000), "optimizer": Read("adamw"),
              "lr": Read(1e-4), "batch size": Read(512), "seeds": Read(SEEDS_READ), **DOWNSTREAM_READING}
# A.3: "the jacobian matrix for 1, 2, 3, and 4 layers for a 6x256 MLP"; data and training not stated: our reading is
# the figure's neighbour's (Figure 7 left), the whole CIFAR10 training set, so a subset is a reduced setting; one
# trained model (our reading)
JACOBIAN = {"data": Read(full("cifar10")["data"]), "architecture": "6x256", "k values": 4, "seeds": Read(1)}
# A.1: 3x128 on CIFAR10, lrs 1e-2..1e-5, AdamW / SGD / StableAdamW, 1000 epochs; seeds not stated (config.yaml's)
SWEEP = {**full("cifar10"), "architecture": "3x128", "epochs": 1000, "learning rates": 4, "optimizers": 3,
         "seeds": Read(SEEDS_READ)}


def check_subspace(artifacts, k, min_activation, min_ratio):
    df = need(artifacts, "subspace", ("k", "activation", "random", "dataset", "depth", "width"))
    df = in_setting(df, "subspace", PAPER_DATASETS, [(d, 1024) for d in (3, 4, 6)])
    # "during all 20 training epochs": the epochs trained (at initialisation the activations' subspace is no better
    # than a random one: docs/conventions.md#conventions-stated-once, Figure 2)
    trained = df[df["epoch"] >= 1] if "epoch" in df else df
    few = trained[trained["k"] < k]
    if few.empty:
        raise NotMeasured(f"subspace has no k < {k} after a training epoch")
    act, rnd = float(few["activation"].max()), float(few["random"].max())
    # "consistently ... a significantly better approximation than a random subspace": every curve (architecture,
    # layer, epoch), at its largest k below `k`, against the random subspace measured beside it
    keys = [c for c in ("depth", "width", "layer", "epoch") if c in few]
    at = few.loc[few.groupby(keys)["k"].idxmax()]
    ratios = at["activation"] / at["random"]
    worst = at.loc[ratios.idxmin()]
    where = ", ".join(f"{c} {worst[c]:g}" for c in keys)
    archs = sorted({f"{int(d)}x{int(w)}" for d, w in zip(df["depth"], df["width"])})
    ours = {"architecture": archs, "seeds": 1}
    if "epoch" in df:
        ours["trajectory epochs"] = int(df["epoch"].max())
    return verdict(act >= min_activation and float(ratios.min()) >= min_ratio,
                   f"k < {k}: activation subspace up to {act:.3f}, random up to {rnd:.3f} (paper: 0.5 vs 0.1); "
                   f"activation / random at each curve's largest k < {k}: at least {ratios.min():.2f} over "
                   f"{len(at)} curves ({where})", ours, activation=act, random=rnd, min_ratio=float(ratios.min()))


def _layers(options) -> int:
    return json.loads(options if isinstance(options, str) and options else "{}").get("layers", 1)


def check_downstream_layers(artifacts, margin, factor, k):
    df = need(artifacts, "curves", ("method", "optimizer", "dataset", "depth", "width", "epoch", "train_acc"))
    df = in_setting(df, "curves", ["cifar10"], [(6, 1024)])
    df = df[df["method"] == "downstream"]
    layers = df["options"].map(_layers) if "options" in df else 1
    stats = seed_finals(df.assign(layers=layers), ["layers"])
    if not {1, 2} <= set(stats):
        raise NotMeasured("curves lack 1- and 2-layer downstream runs")
    pair = {f"{n}-layer": stats[n] for n in (1, 2)}
    require_compared(pair, "cifar10", "Figure 7 (left)", factor)
    diff, se = stats[2].mean - stats[1].mean, combined_se(stats[1], stats[2])
    return verdict(diff - k * se <= margin, f"final train accuracy: 1-layer {stats[1].mean:.1f}, 2-layer "
                   f"{stats[2].mean:.1f} (2-layer's advantage {diff:+.1f}, {k:g} SE = {k * se:.2f})", run_setting(df),
                   one_layer=stats[1].mean, two_layers=stats[2].mean)


def check_jacobian_rank(artifacts, min_k):
    df = need(artifacts, "spectra", ("state", "k", "effective_rank", "dataset", "depth", "width"))
    df = in_setting(df, "spectra", PAPER_DATASETS, [(6, 256)])
    ranks = df.groupby(["state", "k"])["effective_rank"].first()
    if "trained" not in ranks.index.get_level_values(0):
        raise NotMeasured("spectra lack the trained state: the claim is about a trained network (at initialisation "
                          "any product of random matrices shows the decrease)")
    trained = ranks.loc["trained"].sort_index()
    require_points(len(trained), min_k, "the trained spectra's depths k")
    ok = bool((trained.diff().dropna() < 0).all())
    parts = []
    for state, r in ranks.groupby(level=0):
        r = r.droplevel(0).sort_index()
        parts.append(f"{state}: " + ", ".join(f"k={k:g} {v:.1f}" for k, v in r.items()))
    if "initialisation" in ranks.index.get_level_values(0):
        init = ranks.loc["initialisation"].sort_index()
        parts.append("initialisation (not judged) " + ("decreases too: random weights show it, so the decrease alone "
                                                         "does not show what training did" if
                                                         bool((init.diff().dropna() < 0).all()) else
                                                         "does not decrease"))
    ours = {"architecture": "6x256", "k values": int(trained.index.nunique()), "data": data_of(df), "seeds": 1}
    return verdict(ok, "effective rank of the Jacobian through k weight layers: " + "; ".join(parts), ours)


def _sweep(artifacts):
    df = need(artifacts, "sweep", ("method", "optimizer", "epoch", "train_acc", "dataset", "depth", "width"))
    return in_setting(df, "sweep", ["cifar10"], [(3, 128)])


def _sweep_setting(df) -> dict:
    ours = run_setting(df)
    ours.pop("optimizer", None), ours.pop("lr", None)
    ours["optimizers"] = int(df["optimizer"].nunique())
    if "swept_lrs" in df:
        ours["learning rates"] = int(df["swept_lrs"].min())
    return ours


def _early(bp, epoch) -> Stat:
    rows = bp[bp["epoch"] == epoch]
    return stat(rows.groupby("seed")["train_acc"].mean() * 100 if "seed" in rows else rows["train_acc"] * 100)


def check_backprop_fastest(artifacts, share, min_epochs, factor, k):
    df = _sweep(artifacts)
    parts, ok, judged = [], True, 0
    for optimizer, g in df.groupby("optimizer"):
        if "backprop" not in set(g["method"]) or g["method"].nunique() < 2:
            continue
        epochs = g["epoch"].max()
        require_points(int(epochs), min_epochs, f"the {optimizer} sweep's curves (epochs)")
        bp = g[(g["method"] == "backprop") & (g["epoch"] >= epochs * share)]
        at = bp["epoch"].min()
        early = _early(bp, at)
        others = seed_finals(g[g["method"] != "backprop"], ["method"])
        runs = {f"backprop at epoch {at:g}": early, **others}
        require_compared(runs, "cifar10", f"the {optimizer} sweep", factor)
        judged += 1
        best = max(others, key=lambda m: others[m].mean)
        ok &= all(exceeds(early.mean - s.mean, combined_se(early, s), k) for s in others.values())
        parts.append(f"{optimizer}: backprop at epoch {at:g} of {epochs:g} {early.mean:.1f}, best other final "
                     f"{others[best].mean:.1f} ({best}; {k:g} SE = {k * combined_se(early, others[best]):.2f})")
    if not judged:
        raise NotMeasured("sweep has no optimizer with backprop and another method")
    return verdict(ok, "; ".join(parts), _sweep_setting(df))


def check_adam_helps(artifacts, min_gain, factor, k):
    df = _sweep(artifacts)
    stats = seed_finals(df, ["method", "optimizer"])
    gains, ok = {}, True
    for method in ("directional", *PROPOSED):
        adam = [o for m, o in stats if m == method and o in ADAM_TYPE]
        if (method, "sgd") not in stats or not adam:
            continue
        runs = {"sgd": stats[(method, "sgd")], **{o: stats[(method, o)] for o in adam}}
        require_compared(runs, "cifar10", f"{method}'s sweep", factor)
        best = max(adam, key=lambda o: runs[o].mean)
        gains[method] = runs[best].mean - runs["sgd"].mean
        ok &= gains[method] >= min_gain and exceeds(gains[method], combined_se(runs[best], runs["sgd"]), k)
    if "directional" not in gains or len(gains) < 2:
        raise NotMeasured(f"sweep needs SGD and an Adam-type optimizer for directional and a proposed method; has "
                          f"{sorted(gains)}")
    return verdict(ok, "best Adam-type minus SGD final train accuracy: "
                   + ", ".join(f"{m} {g:+.1f}" for m, g in gains.items()), _sweep_setting(df), **gains)


SUBSPACE_QUOTE = ("We see that the activation subspace consistently requires much fewer basis vectors for a "
                  "significantly better approximation than a random subspace, getting cosine similarity as high as "
                  "0.5 with less than 10 principal components (in contrast, random subspace gets 0.1 cosine "
                  "similarity).")

CLAIMS = [
    Claim("subspace_cosine", SUBSPACE_QUOTE, "Figure 2 (right); Section 4", ("subspace",),
          "after a training epoch, k < {k}: max activation-subspace cosine >= {min_activation:g}, and in every "
          "(architecture, layer, epoch) curve the activation subspace's cosine at its largest k < {k} >= "
          "{min_ratio:g}x the random subspace's measured beside it. The random subspace's own 0.1 is not judged: it "
          "is sqrt(k/n) by construction (<= 0.094 at n = 1024), so a bound on it could not fail. One trajectory per "
          "architecture: no seeds to spread", check_subspace, SUBSPACE, {"k": 10, "min_activation": 0.4,
                                                                        "min_ratio": 2},
          fails_on="the activation subspace under 0.4 at k < 10, or some curve under 2x the random subspace (e.g. 0.10"
                   " against 0.10, as at initialisation)"),
    Claim("downstream_layers", "We see that 2-layer downstream has no advantage over 1-layer downstream.",
          "Figure 7 (left); A.3", ("curves",), "final train accuracy: 2-layer minus 1-layer, less {k:g}x its combined "
          "standard error, <= {margin:g} point(s) (fails on an advantage beyond both); both runs past {factor:g}x "
          "chance; " + SPREAD_RULE, check_downstream_layers, DOWNSTREAM,
          {"margin": 1, "factor": CHANCE_FACTOR, "k": SPREAD_K},
          fails_on="2-layer's final train accuracy above 1-layer's by more than 1 point plus 2 SE"),
    Claim("fig7_jacobian_rank", "The Jacobian for more layers has a faster-decaying spectrum and thus a lower "
          "effective rank, which makes it easier to guess the gradient.", "Figure 7 (right); A.3", ("spectra",),
          "6x256 MLP on a paper data set, {min_k} or more depths k (weight layers): the trained network's effective "
          "rank strictly decreasing in k (initialisation reported, not judged: random weights show the decrease "
          "too). One trained model: no seeds to spread", check_jacobian_rank, JACOBIAN, {"min_k": 2},
          fails_on="the trained network's effective rank not falling with k (e.g. 116, 100, 120, 59)"),
    Claim("fig6_backprop_fastest", "We see that backprop predictably converges much faster than other methods.",
          "Figure 6; A.1", ("sweep",), "3x128 CIFAR10, {min_epochs} or more epochs, each optimizer at its chosen "
          "learning rates: backprop's train accuracy at {share:.0%} of the epochs above every other method's final; "
          "every compared run past {factor:g}x chance; " + SPREAD_RULE,
          check_backprop_fastest, SWEEP, {"share": 0.1, "min_epochs": 10, "factor": CHANCE_FACTOR, "k": SPREAD_K},
          fails_on="another method's final train accuracy above, or within 2 SE of, backprop's at 10% of the epochs"),
    Claim("fig6_adam_helps", "... gradient guessing methods such as directional descent and ours benefit greatly "
          "from Adam.", "Figure 6; A.1", ("sweep",), "3x128 CIFAR10: for directional descent and each proposed "
          "method swept, the best Adam-type optimizer's final train accuracy >= SGD's + {min_gain:g} points; every "
          "compared run past {factor:g}x chance; " + SPREAD_RULE, check_adam_helps, SWEEP,
          {"min_gain": 5, "factor": CHANCE_FACTOR, "k": SPREAD_K},
          fails_on="an Adam-type optimizer less than 5 points, or 2 SE, above SGD for directional or a proposed "
                   "method"),
]
