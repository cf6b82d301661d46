"""Figure 9 (A.5): visual prompt tuning of a ViT-B/16 with guessed gradients."""
from __future__ import annotations

from gradguess.report.claims.core import (PROMPT_DATASETS, Claim, NotMeasured, data_of, left_chance, need,
                                          observed, verdict)
from gradguess.report.setting import Read, full

# A.5 names the model (a pre-trained ViT-B/16) and the data sets only; Jia et al.'s VPT settings are our reading
# (config.yaml figure9)
PROMPT = {**full(*PROMPT_DATASETS), "architecture": "ViT-B/16", "backbone": "pre-trained", "epochs": Read(100),
          "optimizer": Read("sgd"), "batch size": Read(128)}


def check_prompt_tuning(artifacts, factor):
    df = need(artifacts, "prompt_tuning", ("dataset", "method", "accuracy"))
    t = df.pivot_table(index="dataset", columns="method", values="accuracy")
    done = [d for d in PROMPT_DATASETS if d in t.index and {"wt", "directional"} <= set(t.columns)
            and not t.loc[d, ["wt", "directional"]].isna().any()
            and any(left_chance(t.loc[d, m], d, factor) for m in ("wt", "directional"))]
    detail = "; ".join(f"{d}: W^T {t.loc[d, 'wt']:.1f} vs directional {t.loc[d, 'directional']:.1f}" for d in done)
    ours = {"data": data_of(df[df["dataset"].isin(done)]), **observed(
        df, architecture="arch", backbone="backbone", epochs="planned_epochs", optimizer="optimizer",
        **{"batch size": "batch_size"})}
    if any(t.loc[d, "wt"] <= t.loc[d, "directional"] for d in done):
        return verdict(False, detail, ours)
    if len(done) < len(PROMPT_DATASETS):
        raise NotMeasured(f"measured past chance {done or 'none'} of {list(PROMPT_DATASETS)}: {detail}")
    return verdict(True, detail, ours)


CLAIMS = [
    Claim("fig9_prompt_tuning", "Figure 9 shows that our W^T method consistently outperforms directional descent for "
          "all fine-tuning datasets (CUB-200, Stanford Cars, Stanford Dogs).", "Figure 9; A.5", ("prompt_tuning",),
          "final test accuracy of W^T strictly above directional descent's on each of the three data sets (one of "
          "the two past {factor:g}x chance)", check_prompt_tuning, PROMPT, {"factor": 1.5}),
]
