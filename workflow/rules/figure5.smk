# Figure 5 (§4.1, A.2): self-sharpening (top) and its re-creation by singular-value powers (bottom),
# from the runs' monitor.csv (guess cosine and effective ranks recorded during training).


localrules:
    figure5,


rule figure5:
    input:
        top=run_files(PLAN.runs_of("figure5", "top"), "monitor.csv"),
        metrics=run_files(PLAN.runs_of("figure5", "top"), "metrics.csv"),
        bottom=run_files(PLAN.runs_of("figure5", "bottom"), "monitor.csv"),
    output:
        **artifact_outputs("figure5"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure5"),
    log:
        f"{TREE}/logs/figure5.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure5 --top {input.top:q} --bottom {input.bottom:q}"
        " --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
