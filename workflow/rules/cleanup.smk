# `snakemake cleanup`: delete the checkpoints nothing will resume from (finished runs, settings that
# changed, runs no longer configured) and leftovers of killed writes. Never a result; not part of `all`.


localrules:
    cleanup,


rule cleanup:
    params:
        tree=TREE,
        keep=current_checkpoint_digests(),
    log:
        f"{TREE}/logs/cleanup.log",
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "echo {params.keep} | python -m gradguess clean --tree {params.tree:q} --keep - 2>&1 | tee {log}"
