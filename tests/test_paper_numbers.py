"""The transcription of the paper's numbers (src/gradguess/report/paper_numbers.yaml) and its loader."""
import itertools
import re
from pathlib import Path

import pytest

from gradguess.report import paper

PAPER_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "paper" / "how-to-guess-a-gradient.txt"
DATASETS = ["cifar100", "cifar10", "svhn", "mnist"]
ARCHS = [(3, 128), (6, 128), (3, 1024), (6, 1024)]
METHODS = ["directional", "activation_perturbation", "activation_mixing", "wt", "downstream", "self_sharpening",
           "backprop"]


def test_loads():
    data = paper.load()
    assert {"source", "figure1", "table1", "table2", "text"} <= set(data)
    assert len(paper.figure1()) == 6 and len(paper.table1()) == 16 and len(paper.text_numbers()) > 20
    assert paper.text_number("subspace_cosine") == {"activation": 0.5, "components_below": 10, "random": 0.1}


def test_table2_has_every_cell_with_a_value_or_an_uncertain_marker():
    t = paper.table2()
    expected = set(itertools.product(DATASETS, ARCHS, METHODS, ["train", "test"]))
    got = [(r.dataset, (r.depth, r.width), r.method, r.split) for r in t.itertuples()]
    assert len(got) == len(set(got)) == 4 * 4 * 7 * 2 and set(got) == expected
    missing = t[t["mean"].isna()]
    assert not missing["certain"].any(), "a cell without a value must be marked uncertain"
    assert missing["note"].notna().all(), "an uncertain cell says why"
    # only the D:3, W:128 cells the extraction lost: CIFAR100 train (7), CIFAR10 train backprop, test backprop x2
    assert set(zip(missing.depth, missing.width)) == {(3, 128)} and len(missing) == 10
    known = t.dropna(subset=["mean"])
    assert known["mean"].between(0, 100).all() and (known["std"] >= 0).all()


def test_backprop_train_is_the_highest_in_most_cells():
    """A sanity property of the transcription (a misplaced column or row would break it), not a claim of the paper.

    Tolerance: ties count (several methods reach 100.0 on MNIST), and at most 10% of the cells with a backprop
    value may fail; in the transcription as it stands none does.
    """
    train = paper.table2().query("split == 'train'").dropna(subset=["mean"])
    wins = []
    for _, g in train.groupby(["dataset", "depth", "width"]):
        bp = g.loc[g["method"] == "backprop", "mean"]
        if len(bp):
            wins.append(bool(bp.iloc[0] >= g["mean"].max()))
    assert len(wins) == 14  # 16 (dataset, architecture) cells less the two without a backprop value
    assert sum(wins) >= 0.9 * len(wins)


def _cell(dataset, depth, width, method, split):
    t = paper.table2()
    row = t[(t.dataset == dataset) & (t.depth == depth) & (t.width == width) & (t.method == method)
            & (t.split == split)]
    assert len(row) == 1
    return row.iloc[0]["mean"], row.iloc[0]["std"]


def test_cells_confirmed_by_the_text():
    # Table 2, D:6 W:1024, CIFAR10 self-sharpening: "the training accuracy also reaches > 95% on CIFAR10 ...
    # reaching only 33% test accuracy" (Section 4.1)
    assert _cell("cifar10", 6, 1024, "self_sharpening", "train") == (97.5, 3.9)
    assert _cell("cifar10", 6, 1024, "self_sharpening", "test") == (33.5, 2.9)
    # Table 2, complete columns: D:3 W:1024 MNIST test backprop; D:6 W:128 CIFAR100 test backprop (printed apart)
    assert _cell("mnist", 3, 1024, "backprop", "test") == (98.3, 0.1)
    assert _cell("cifar100", 6, 128, "backprop", "test") == (17.9, 0.4)
    t1 = paper.table1().set_index(["row", "method"])
    # Table 1: "our method again achieves the accuracy 77.4%, beating Ren et al. (2022) method by 1.4%" (Section 4)
    assert t1.loc[("augment_long", "wt"), "value"] == 77.4 and t1.loc[("augment_long", "ren_et_al"), "value"] == 76.0
    # Table 1: "In the Adam setting, our method achieves a 1.3% gain on top of ... Ren et al." (Section 4)
    assert round(t1.loc[("adam", "wt"), "value"] - t1.loc[("adam", "ren_et_al"), "value"], 1) == 1.3
    # Table 1: the row quoted from Ren et al. (2022): backprop 66.4, Ren et al. 69.3
    assert t1.loc[("reported", "backprop"), "value"] == 66.4 and t1.loc[("reported", "ren_et_al"), "value"] == 69.3
    assert t1.loc[("reported", "backprop"), "quoted"] and not t1.loc[("adam", "backprop"), "quoted"]
    # Figure 1: W^T 0.030 vs directional 0.0003, "approximately 100x" (caption); "cosine similarity for W^T is
    # approximately 0.03" (Section 4)
    f1 = paper.figure1().set_index("method")
    assert f1.loc["wt", "cosine_mean"] == 0.030 and f1.loc["directional", "cosine_mean"] == 0.0003
    assert f1.loc["wt", "effectiveness_mean"] == 1.7e-3 and f1.loc["directional", "effectiveness_mean"] == 1e-6


def test_cell_forms():
    assert paper.cell([1.0, 0]) == {"mean": 1.0, "std": 0.0, "certain": True, "suspect": None, "note": None}
    c = paper.cell({"mean": None, "std": None, "certain": False, "note": "lost"})
    assert c["mean"] is None and c["certain"] is False and c["note"] == "lost"
    assert paper.parse_arch(paper.arch_key(6, 1024)) == (6, 1024)


@pytest.mark.skipif(not PAPER_TEXT.exists(), reason=f"paper text not at {PAPER_TEXT}")
def test_table2_columns_are_where_the_extraction_has_them():
    """Each transcribed column (less backprop) is one tab-separated field of the extraction, in the block's line
    (train blocks then test blocks, in architecture order) and the dataset's field; backprop split-off lines aside."""
    lines = PAPER_TEXT.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("Train Accuracy"))
    pair = re.compile(r"(\d+(?:\.\d+)?)\s*(?:±|\\pm)\s*(\d+(?:\.\d+)?)")
    blocks = []  # lines holding at least one 6- or 7-value field: the eight (split, architecture) blocks
    for line in lines[start:]:
        fields = {j: [(float(a), float(b)) for a, b in pair.findall(f)] for j, f in enumerate(line.split("\t"))}
        if any(len(v) >= 6 for v in fields.values()):
            blocks.append(fields)
    assert len(blocks) == 8
    t = paper.table2()
    for b, (split, (depth, width)) in enumerate(itertools.product(["train", "test"], ARCHS)):
        for field, dataset in enumerate(DATASETS, start=2):
            col = t[(t.split == split) & (t.depth == depth) & (t.width == width) & (t.dataset == dataset)]
            col = col.set_index("method").loc[METHODS]
            values = [(m, s) for m, s in zip(col["mean"], col["std"]) if m == m]  # drop NaN
            printed = blocks[b].get(field, [])
            if len(printed) == 7:
                assert printed == values, (split, depth, width, dataset)
            else:  # backprop absent from the field (missing, or split off onto its own line)
                assert printed == [v for v, m in zip(values, col.index[col["mean"].notna()]) if m != "backprop"]
