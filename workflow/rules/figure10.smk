# Figure 10 (A.6): Figure 2 (right)'s measurements drawn apart per width, depth and layer.


localrules:
    figure10,


rule figure10:
    input:
        subspace=[subspace_csv(t) for t in PLAN.lists["figure10"].values()],
    output:
        **artifact_outputs("figure10"),
    params:
        out_dir=artifact_dir,
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
        " --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
