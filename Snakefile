# gradguess: reproducing "How to Guess a Gradient". Thin on purpose: every rule lives in workflow/rules/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/plan.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/trajectory.smk"
include: "workflow/rules/figure1.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/table2.smk"
include: "workflow/rules/figure3.smk"
include: "workflow/rules/figure11.smk"
include: "workflow/rules/figure4.smk"
include: "workflow/rules/figure6.smk"
include: "workflow/rules/figure7.smk"
include: "workflow/rules/figure5.smk"
include: "workflow/rules/figure2.smk"
include: "workflow/rules/figure10.smk"
include: "workflow/rules/table1.smk"
include: "workflow/rules/figure8.smk"
include: "workflow/rules/figure9.smk"
include: "workflow/rules/comparison.smk"
include: "workflow/rules/paper_readme.smk"
include: "workflow/rules/cleanup.smk"


rule all:
    input:
        rules.paper_readme.output.readme,
        f"{TREE}/plan.tsv",
    default_target: True
