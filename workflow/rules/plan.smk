# results/<preset>/plan.tsv: every run and trajectory of this configuration with its whole specification, the
# figures that read it and the digest its checkpoints are named by (`gradguess plan` prints the same before a run).


localrules:
    plan,


rule plan:
    output:
        tsv=f"{TREE}/plan.tsv",
    params:
        config=json.dumps(result_config(), sort_keys=True),
    log:
        f"{TREE}/logs/plan.log",
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess plan --config-json {params.config:q} --out {output.tsv:q} > {log:q} 2>&1"
