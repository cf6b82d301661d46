"""The paper's quantitative claims, each a check of our artifacts: "holds", "does not hold" or "not measured",
and the setting it was measured at against the paper's (report/setting.py).

`check_all(artifacts)` runs every claim in CLAIMS; `artifacts` maps a name to a pandas DataFrame (a missing name,
or a frame without the columns a claim needs, makes that claim "not measured"). Names and columns:

  figure1_table  method, cosine_mean, one_step_effectiveness_mean, dataset, depth, width (Figure 1's table plus
                 the trajectory's setting: train_size, trajectory_epochs, optimizer, lr, batch_size,
                 batches_per_epoch)
  table2         dataset, depth, width, method, split ("train"/"test"), mean (accuracy, percent; NaN, e.g. a
                 diverged run, counts as unmeasured), std and seeds (and diverged) over the seeds, and the runs'
                 setting (RUN columns below)
  averaging      method, mode, guesses, cosine, limit, dataset, depth, width, snapshot_steps, train_size; any
                 number of rows per (method, mode, guesses), e.g. one per example: averaged (Figure 4 left)
  curves         method, optimizer, momentum, dataset, depth, width, epoch, train_acc (fraction 0-1), optional
                 seed and options (JSON text, e.g. '{"layers": 2}'), RUN columns (Figures 4 middle/right, 7 left)
  subspace       k, activation, random (cosines), dataset, depth, width, epoch (Figure 2 right / Figure 10)
  table1         row (adam, augment, augment_long), method (backprop, ren_et_al, activation_mixing, wt), value
                 (test accuracy, percent), std, seeds, dataset, arch (the LocalMixer as
                 mixer-b<blocks>-c<ch>-p<patch>-g<groups>); matched_value, matched_std (test accuracy at
                 matched_epoch, the Adam row's last epoch: rows compared like with like)
  mixer_curves   run, method, options, seed, epoch, train_acc, test_acc (fractions), dataset, arch (Figure 8)
  sweep          run, method, optimizer, seed, epoch, train_acc, dataset, depth, width, swept_lrs (Figure 6)
  monitors       run, method, seed, step, cosine, dataset, depth, width (Figure 5 top)
  sv_power       power, seed, step, cosine, rank_layers.0, dataset, depth, width, total_steps (Figure 5 bottom)
  spectra        state, k, effective_rank, dataset, depth, width (Figure 7 right)
  prompt_tuning  dataset (cub200, stanford_cars, stanford_dogs), method, accuracy, std, seeds, prompts, lrs (the
                 grid's size), augment (Figure 9)
RUN columns (a run's setting, from its config.json): planned_epochs, optimizer, lr, batch_size, weight_decay,
seeds (how many), train_size (its data set's training examples).

A claim is judged only on the paper's data sets and architectures: anything else (the `synthetic` data set, a toy
architecture) is "not measured", never "holds"; so is a check any of whose compared runs never left chance, whose
curves are too short to read, or that compares methods with a run of one seed (a comparison is decided by the
spread across seeds, not by the means alone). A verdict reached short of the paper's setting in anything else
(fewer epochs or examples, fewer seeds, another learning rate) is reported with that reduction spelled out
(comparison.py).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from gradguess.report.claims import appendix, figure1, figure4, figure5, prompt, table1, table2
from gradguess.report.claims.core import (ADAM_TYPE, COMPLEXITY, FAILS, HOLDS, NOT_MEASURED, PAPER_DATASETS,
                                          PAPER_MIXER, PROMPT_DATASETS, PROPOSED, TABLE2_ARCHS, Claim, NotMeasured,
                                          Verdict)
from gradguess.report.setting import describe

CLAIMS: list[Claim] = [*figure1.CLAIMS, *table2.CLAIMS[:2], *figure4.CLAIMS, table2.CLAIMS[2], *figure5.CLAIMS,
                       *appendix.CLAIMS, *table1.CLAIMS, *prompt.CLAIMS]


def check_all(artifacts: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per claim: id, source, status, setting ("paper" / "reduced" / ""), reduction, detail, tolerance,
    paper_setting, family and variant (claims judging one sentence in several of our readings share a family)."""
    rows = []
    for c in CLAIMS:
        v = c.check(artifacts)
        reduced = c.reduction(v)
        rows.append({"id": c.id, "source": c.source, "status": v.status,
                     "setting": "" if v.status == NOT_MEASURED else ("reduced" if reduced else "paper"),
                     "reduction": "; ".join(reduced), "detail": v.detail, "tolerance": c.tolerance_text,
                     "paper_setting": describe(c.paper), "family": c.family, "variant": c.variant})
    return pd.DataFrame(rows)


__all__ = ["CLAIMS", "check_all", "Claim", "Verdict", "NotMeasured", "HOLDS", "FAILS", "NOT_MEASURED",
           "PAPER_DATASETS", "PAPER_MIXER", "PROMPT_DATASETS", "PROPOSED", "TABLE2_ARCHS", "COMPLEXITY", "ADAM_TYPE"]
