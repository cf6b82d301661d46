# Figure 11: train and test curves of the Table 2 runs.


localrules:
    figure11,


rule figure11:
    input:
        curves=rules.gather_runs.output.curves,
    output:
        **artifact_outputs("figure11"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure11"),
    log:
        f"{TREE}/logs/figure11.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure11 --curves {input.curves:q} --out-dir {params.out_dir:q} --preset {params.preset:q}"
        " > {log:q} 2>&1"
