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
        png=report(f"{FIGURES}/figure5.png", caption="../report/figure5.rst", category="Figure 5"),
        pdf=report(f"{FIGURES}/figure5.pdf", caption="../report/figure5.rst", category="Figure 5"),
        csv=report(f"{FIGURES}/figure5.csv", caption="../report/figure5.rst", category="Figure 5"),
    params:
        prefix=prefix_of("png"),
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
        " --out-prefix {params.prefix:q} --preset {params.preset:q} > {log:q} 2>&1"
