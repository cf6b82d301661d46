"""gradguess.report.claims on made-up artifacts, and on the paper's own numbers (where the claims must hold)."""
import json

import numpy as np
import pandas as pd
import pytest

from gradguess.report import claims, paper
from gradguess.report.claims import FAILS, HOLDS, NOT_MEASURED

BY_ID = {c.id: c for c in claims.CLAIMS}


def check(claim_id, **artifacts):
    return BY_ID[claim_id].check(artifacts)


def paper_artifacts():
    f1 = paper.figure1().rename(columns={"effectiveness_mean": "one_step_effectiveness_mean"})
    return {"figure1_table": f1.assign(dataset="cifar10", depth=6, width=1024),
            "table2": paper.table2(),
            "table1": paper.table1().query("not quoted")}


@pytest.mark.parametrize("claim_id", ["fig1_cosine_100x", "fig1_one_step_1000x", "table2_beats_directional",
                                      "self_sharpening", "table1_wt_beats_ren"])
def test_the_papers_own_numbers_satisfy_its_claims(claim_id):
    v = check(claim_id, **paper_artifacts())
    assert v.status == HOLDS, v.detail


def test_every_claim_is_not_measured_without_artifacts():
    table = claims.check_all({})
    assert len(table) == len(claims.CLAIMS) >= 10 and (table["status"] == NOT_MEASURED).all()
    assert len(set(table["id"])) == len(table)


def test_other_data_is_not_measured_never_holds():
    synthetic = paper.table2().assign(dataset="synthetic")
    assert check("table2_beats_directional", table2=synthetic).status == NOT_MEASURED
    toy = paper_artifacts()["figure1_table"].assign(depth=2, width=32)
    v = check("fig1_cosine_100x", figure1_table=toy)
    assert v.status == NOT_MEASURED and "not in the paper's setting" in v.detail
    # without the setting columns nothing can be judged
    assert check("fig1_cosine_100x", figure1_table=toy.drop(columns=["dataset"])).status == NOT_MEASURED


def test_table2_claim_fails_on_a_loss():
    t = paper.table2()
    t.loc[(t.method == "wt") & (t.dataset == "mnist") & (t.split == "train"), "mean"] = 50.0
    v = check("table2_beats_directional", table2=t)
    assert v.status == FAILS and "wt 50.0" in v.detail


def averaging(ap_grows=True, max_guesses=8192):
    rows = []
    for g in 2 ** np.arange(1, int(np.log2(max_guesses)) + 1):
        rows += [{"method": "wt", "guesses": g, "cosine": min(0.3, 0.01 * np.sqrt(g))},
                 {"method": "activation_mixing", "guesses": g, "cosine": min(0.25, 0.01 * np.sqrt(g))},
                 {"method": "activation_perturbation", "guesses": g,
                  "cosine": np.sqrt(g / (g + 5000)) if ap_grows else min(0.2, 0.01 * np.sqrt(g))}]
    return pd.DataFrame(rows).assign(dataset="cifar10", depth=6, width=1024)


def test_fig4_saturation():
    assert check("fig4_saturation", averaging=averaging()).status == HOLDS
    assert check("fig4_saturation", averaging=averaging(ap_grows=False)).status == FAILS
    assert check("fig4_saturation", averaging=averaging(max_guesses=512)).status == NOT_MEASURED


def curves(finals, optimizer="sgd"):
    """finals: {(method, momentum, options): final train accuracy (fraction)}; two epochs, two seeds."""
    rows = []
    for (method, momentum, options), acc in finals.items():
        for seed in (0, 1):
            rows += [{"method": method, "optimizer": optimizer, "momentum": momentum, "options": options,
                      "seed": seed, "epoch": e, "train_acc": acc * e / 2} for e in (1, 2)]
    return pd.DataFrame(rows).assign(dataset="cifar10", depth=6, width=1024)


def test_fig4_momentum():
    gap = curves({("wt", 0.9, "{}"): 0.40, ("cosine_matched_directional", 0.9, "{}"): 0.60,
                  ("wt", 0.0, "{}"): 0.50, ("cosine_matched_directional", 0.0, "{}"): 0.52})
    v = check("fig4_momentum", curves=gap)
    assert v.status == HOLDS and v.measured["gap_momentum"] == pytest.approx(20)
    no_close = gap.assign(train_acc=np.where((gap.momentum == 0) & (gap.method == "wt"), gap.train_acc / 2,
                                             gap.train_acc))
    assert check("fig4_momentum", curves=no_close).status == FAILS
    assert check("fig4_momentum", curves=gap[gap.momentum > 0]).status == NOT_MEASURED


def test_downstream_layers():
    one, two = json.dumps({"layers": 1}), json.dumps({"layers": 2})
    same = curves({("downstream", None, one): 0.50, ("downstream", None, two): 0.505}, optimizer="adamw")
    assert check("downstream_layers", curves=same).status == HOLDS
    better = curves({("downstream", None, one): 0.50, ("downstream", None, two): 0.60}, optimizer="adamw")
    assert check("downstream_layers", curves=better).status == FAILS


def test_subspace_and_prompt_tuning():
    sub = pd.DataFrame({"k": [1, 5, 9, 50], "activation": [0.2, 0.45, 0.5, 0.7], "random": [0.03, 0.07, 0.09, 0.2]})
    assert check("subspace_cosine", subspace=sub.assign(dataset="mnist", depth=3, width=1024)).status == HOLDS
    assert check("subspace_cosine", subspace=sub.assign(dataset="synthetic", depth=3, width=1024)).status \
        == NOT_MEASURED
    pt = pd.DataFrame({"dataset": ["cub200", "cub200", "stanford_cars", "stanford_cars"],
                       "method": ["wt", "directional"] * 2, "accuracy": [40.0, 30.0, 20.0, 10.0]})
    assert check("fig9_prompt_tuning", prompt_tuning=pt).status == NOT_MEASURED  # dogs missing
    dogs = pd.DataFrame({"dataset": ["stanford_dogs"] * 2, "method": ["wt", "directional"], "accuracy": [50.0, 45.0]})
    assert check("fig9_prompt_tuning", prompt_tuning=pd.concat([pt, dogs])).status == HOLDS
    worse = pt.assign(accuracy=[10.0, 30.0, 20.0, 10.0])
    assert check("fig9_prompt_tuning", prompt_tuning=worse).status == FAILS
