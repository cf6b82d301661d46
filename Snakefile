# gradguess: reproducing "How to Guess a Gradient". Thin on purpose: every rule lives in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/trajectory.smk"
include: "workflow/rules/figure1.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/table2.smk"
include: "workflow/rules/figure3.smk"
include: "workflow/rules/figure11.smk"
include: "workflow/rules/paper_readme.smk"


rule all:
    input:
        "paper_figures/README.md",
    default_target: True
