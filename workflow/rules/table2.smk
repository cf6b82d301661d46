# Table 2: every run's result file gathered into one table, then laid out as the paper's table.


localrules:
    gather_runs,
    table2,


rule gather_runs:
    input:
        results=run_files(PLAN.runs_of("table2")),
        metrics=run_files(PLAN.runs_of("table2"), "metrics.csv"),
    output:
        runs=f"{TREE}/tables/runs.csv",
        curves=f"{TREE}/tables/curves.csv",
    params:
        code=job_code("report gather"),
    log:
        f"{TREE}/logs/gather_runs.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report gather --results {input.results:q} --runs {output.runs:q} --curves {output.curves:q} > {log:q} 2>&1"


rule table2:
    input:
        runs=rules.gather_runs.output.runs,
    output:
        **artifact_outputs("table2"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report table2"),
    log:
        f"{TREE}/logs/table2.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report table2 --runs {input.runs:q} --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
