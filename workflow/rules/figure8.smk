# Figure 8 (A.4): the LocalMixer's train and test curves with and without local losses.


localrules:
    figure8,


rule figure8:
    input:
        runs=run_files(PLAN.runs_of("table1", "figure8")),
        metrics=run_files(PLAN.runs_of("table1", "figure8"), "metrics.csv"),
    output:
        **artifact_outputs("figure8"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure8"),
    log:
        f"{TREE}/logs/figure8.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure8 --runs {input.runs:q} --out-dir {params.out_dir:q}"
        " --preset {params.preset:q} > {log:q} 2>&1"
