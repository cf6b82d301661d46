# `snakemake cleanup --configfile presets/<preset>.yaml` (the target first: --configfile takes every word after
# it): delete the checkpoints nothing will resume from (finished runs, settings that changed, runs no longer
# configured) and leftovers of killed writes. Never a result; not part of `all`. `snakemake cleanup -n` lists the
# files (the rule's message is worked out when the job is planned, so a dry run shows it too). The rule has no
# outputs, so Snakemake's lock does not keep it from running jobs: gradguess.housekeeping refuses while any Snakemake
# lock is held in this working directory (already when the job is planned, before this Snakemake touches the
# locks) and keeps every checkpoint of a job that is not finished.
from gradguess import housekeeping


localrules:
    cleanup,


rule cleanup:
    params:
        tree=TREE,
        config=json.dumps(result_config(), sort_keys=True),
        plan=lambda wildcards: housekeeping.plan(TREE, *housekeeping.expected(PLAN)),
    message:
        "cleanup: {params.plan}"
    log:
        f"{TREE}/logs/cleanup.log",
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess clean --tree {params.tree:q} --config-json {params.config:q} 2>&1 | tee {log:q}"
