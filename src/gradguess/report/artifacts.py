"""Every report artifact's files under paper_figures/<preset>/, named here and nowhere else: the rules' outputs
(common.smk's `artifact_outputs`), the paths `gradguess report <artifact>` hands its writer, the plan's list of a
preset's artifacts and the comparison's reading of them all come from this table. An artifact is made by the
report module of its name (gradguess/report/<name>.py), whose code is its rule's digest.

Torch-free and pandas-free: the Snakefile reads it while it is parsed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FIGURE, DATA, TABLE = ("png", "pdf"), ("csv",), ("csv", "md", "tex")


@dataclass(frozen=True)
class Artifact:
    category: str                       # its section of Snakemake's HTML report
    files: dict[str, str]               # output name -> file name
    unshown: tuple[str, ...] = ()       # outputs the HTML report leaves out
    # outputs whose caption (workflow/report/<caption>.rst) is not the artifact's own
    captions: dict[str, str] = field(default_factory=dict)

    def shown(self, key: str) -> bool:
        return key not in self.unshown

    def caption(self, key: str, name: str) -> str:
        return self.captions.get(key, name)


def _named(stem: str, kinds: tuple[str, ...], key: str = "") -> dict[str, str]:
    """{png: figure4.png, ...}: the files of one stem in several formats, each output named by its format."""
    return {f"{key}{kind}": f"{stem}.{kind}" for kind in kinds}


# in the order paper_figures/<preset>/README.md lists them (the comparison first); of a table the HTML report shows
# the CSV, not the same table in Markdown and LaTeX
ARTIFACTS: dict[str, Artifact] = {
    "comparison": Artifact("0 Comparison", _named("comparison", ("md", "csv"))),
    "figure1": Artifact("Figure 1", {**_named("figure1", FIGURE), **_named("figure1_table", TABLE, "table_")},
                        unshown=("table_md", "table_tex"), captions={"table_csv": "figure1_table"}),
    "table2": Artifact("Table 2", _named("table2", TABLE), unshown=("md", "tex")),
    "figure3": Artifact("Table 2", _named("figure3", FIGURE)),
    "figure11": Artifact("Table 2", _named("figure11", FIGURE)),
    "figure4": Artifact("Figure 4", _named("figure4", FIGURE + DATA)),
    "figure6": Artifact("Figure 6", {**_named("figure6", FIGURE + DATA), "curves": "figure6_curves.csv"}),
    "figure7": Artifact("Figure 7", _named("figure7", FIGURE + DATA)),
    "figure5": Artifact("Figure 5", _named("figure5", FIGURE + DATA)),
    "figure2": Artifact("Figure 2", {**_named("figure2", FIGURE + DATA), "images": "figure2_images.csv"}),
    "figure10": Artifact("Figure 10", _named("figure10", FIGURE + DATA)),
    "table1": Artifact("Table 1", _named("table1", TABLE), unshown=("md", "tex")),
    "figure8": Artifact("Figure 8", _named("figure8", FIGURE + DATA)),
    "figure9": Artifact("Figure 9", _named("figure9", FIGURE + DATA)),
    # what each file above is, and the config that made them (report/readme.py); not in the HTML report
    "readme": Artifact("", {"readme": "README.md", "config": "config.yaml"}, unshown=("readme", "config")),
}


def file(name: str, key: str = "csv") -> str:
    """The file name of artifact `name`'s output `key` (figure6, curves -> figure6_curves.csv)."""
    return ARTIFACTS[name].files[key]


def paths(name: str, directory: str | Path) -> dict[str, Path]:
    """Artifact `name`'s outputs in `directory` (a preset's paper_figures/<preset>/), by output name."""
    return {key: Path(directory) / f for key, f in ARTIFACTS[name].files.items()}
