# Figure 10 (A.6): Figure 2 (right)'s measurements drawn apart per width, depth and layer.


localrules:
    figure10,


rule figure10:
    input:
        subspace=[subspace_csv(t) for t in PLAN.lists["figure10"].values()],
    output:
        png=report(f"{FIGURES}/figure10.png", caption="../report/figure10.rst", category="Figure 10"),
        pdf=report(f"{FIGURES}/figure10.pdf", caption="../report/figure10.rst", category="Figure 10"),
        csv=report(f"{FIGURES}/figure10.csv", caption="../report/figure10.rst", category="Figure 10"),
    params:
        prefix=prefix_of("png"),
        preset=preset_name,
        code=job_code("report figure10"),
    log:
        f"{TREE}/logs/figure10.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure10 --subspace {input.subspace:q}"
        " --out-prefix {params.prefix:q} --preset {params.preset:q} > {log:q} 2>&1"
