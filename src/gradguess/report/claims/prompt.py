"""Figure 9 (A.5): visual prompt tuning of a ViT-B/16 with guessed gradients."""
from __future__ import annotations

from gradguess.report.claims.core import (PROMPT_DATASETS, RUN_FIELDS, SPREAD_K, SPREAD_RULE, Claim, NotMeasured,
                                          Stat, at_chance, combined_se, data_of, exceeds, need, observed, verdict)
from gradguess.report.setting import Read, full

AUGMENTATION = "random shift <= 4 px and flip"
# A.5 names the model (a pre-trained ViT-B/16), the data sets and the methods only. Our readings (config.yaml
# figure9): Jia et al.'s VPT settings (epochs, SGD, batch 128, 5 prompt tokens), and ours: the lr grid (each method
# at its best of 4 lrs by final train accuracy), the augmentation, two seeds, and a linear head learning from its
# exact local gradient in every method (the paper does not say how the head is trained).
PROMPT = {**full(*PROMPT_DATASETS), "architecture": "ViT-B/16", "backbone": "pre-trained", "epochs": Read(100),
          "optimizer": Read("sgd"), "batch size": Read(128), "prompt length": Read(5), "learning rates": Read(4),
          "augmentation": Read(AUGMENTATION), "seeds": Read(2),
          "head": Read("its exact local gradient, in every method", fixed=True)}


def _ours(df) -> dict:
    runs = {name: RUN_FIELDS[name] for name in ("epochs", "optimizer", "seeds", "batch size")}
    ours = {"data": data_of(df), **observed(df, architecture="arch", backbone="backbone", **runs,
                                            **{"prompt length": "prompts", "learning rates": "lrs"})}
    if "augment" in df:
        ours["augmentation"] = AUGMENTATION if df["augment"].astype(bool).all() else "none"
    return ours


def check_prompt_tuning(artifacts, factor, k):
    df = need(artifacts, "prompt_tuning", ("dataset", "method", "accuracy"))
    stats = {(r.dataset, r.method): Stat(float(r.accuracy), float(getattr(r, "std", 0.0) or 0.0),
                                         int(getattr(r, "seeds", 1) or 1)) for r in df.itertuples()}
    judged, left = {}, []
    for d in PROMPT_DATASETS:
        if not {(d, "wt"), (d, "directional")} <= set(stats):
            left.append(f"{d} not measured")
            continue
        wt, dd = stats[(d, "wt")], stats[(d, "directional")]
        low = at_chance({"wt": wt.mean, "directional": dd.mean}, d, factor)
        if low:
            left.append(f"{d}: {', '.join(low)} below {factor:g}x chance")
        elif min(wt.n, dd.n) < 2:
            left.append(f"{d}: a run of one seed (no spread)")
        else:
            judged[d] = (wt.mean, dd.mean, combined_se(wt, dd))
    detail = "; ".join(f"{d}: W^T {w:.1f} vs directional {v:.1f} ({k:g} SE = {k * se:.2f})"
                       for d, (w, v, se) in judged.items())
    ours = _ours(df[df["dataset"].isin(list(judged))]) if judged else {}
    if any(not exceeds(w - v, se, k) for w, v, se in judged.values()):
        return verdict(False, detail + (f"; {'; '.join(left)}" if left else ""), ours)
    if left:
        raise NotMeasured(f"judged {list(judged) or 'none'} of {list(PROMPT_DATASETS)}: {'; '.join(left)}"
                          + (f"; {detail}" if detail else ""))
    return verdict(True, detail, ours)


CLAIMS = [
    Claim("fig9_prompt_tuning", "Figure 9 shows that our W^T method consistently outperforms directional descent for "
          "all fine-tuning datasets (CUB-200, Stanford Cars, Stanford Dogs).", "Figure 9; A.5", ("prompt_tuning",),
          "final test accuracy of W^T above directional descent's on each of the three data sets; both past "
          "{factor:g}x chance (1.5x would be 0.75% on CUB's 200 classes); " + SPREAD_RULE, check_prompt_tuning,
          PROMPT, {"factor": 10, "k": SPREAD_K},
          fails_on="W^T below, or within 2 SE of, directional descent on some data set"),
]
