# `snakemake cleanup --configfile presets/<preset>.yaml` (the target first: --configfile takes every word after
# it): delete the checkpoints nothing will resume from (finished runs, settings that changed, runs no longer
# configured) and leftovers of killed writes. Never a result; not part of `all`. `snakemake cleanup -n` lists the
# files (the rule's message is worked out when the job is planned, so a dry run shows it too).
from gradguess import housekeeping


localrules:
    cleanup,


rule cleanup:
    params:
        tree=TREE,
        keep=current_checkpoint_digests(),
        plan=lambda wildcards: housekeeping.plan(TREE, set(current_checkpoint_digests().split())),
    message:
        "cleanup: {params.plan}"
    log:
        f"{TREE}/logs/cleanup.log",
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "echo {params.keep} | python -m gradguess clean --tree {params.tree:q} --keep - 2>&1 | tee {log:q}"
