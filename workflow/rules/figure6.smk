# Figure 6 (A.1): the learning rate x optimizer sweep; each method at its best learning rate.


localrules:
    figure6,


rule figure6:
    input:
        runs=run_files(PLAN.runs_of("figure6")),
        metrics=run_files(PLAN.runs_of("figure6"), "metrics.csv"),
    output:
        **artifact_outputs("figure6"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure6"),
    log:
        f"{TREE}/logs/figure6.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure6 --runs {input.runs:q} --out-dir {params.out_dir:q}"
        " --preset {params.preset:q} > {log:q} 2>&1"
