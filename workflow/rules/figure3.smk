# Figure 3: accuracy against (depth, width) per dataset, from the gathered Table 2 runs.


localrules:
    figure3,


rule figure3:
    input:
        runs=rules.gather_runs.output.runs,
    output:
        **artifact_outputs("figure3"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure3"),
    log:
        f"{TREE}/logs/figure3.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure3 --runs {input.runs:q} --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
