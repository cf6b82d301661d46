# Figure 9 (A.5): prompt tuning a frozen ViT. The backbone's weights come from a file the user names
# (figure9.weights), checked and converted once into the results tree; every run loads that copy.


localrules:
    figure9,


if PLAN.lists.get("vit_weights"):  # planned: weights named and a data set to tune on

    rule prepare_weights:
        input:
            source=lambda wildcards: [] if config["figure9"]["weights"] == "random" else config["figure9"]["weights"],
        output:
            weights=PLAN.lists.get("vit_weights"),
        params:
            source=lambda wildcards, input: input.source or "random",
            vit=json.dumps(config["figure9"]["vit"], sort_keys=True),
            image=" ".join(str(s) for s in PLAN.lists.get("vit_image")),
            code=job_code("weights"),
        log:
            f"{TREE}/logs/prepare_weights.log",
        resources:
            runtime=30,
            mem_mb=4000,
        conda:
            CONDA_ENV
        container:
            config["container"]
        shell:
            "python -m gradguess weights --source {params.source:q} --vit {params.vit:q} --image {params.image}"
            " --out {output.weights:q} > {log:q} 2>&1"


rule figure9:
    input:
        runs=run_files(PLAN.runs_of("figure9")),
        metrics=run_files(PLAN.runs_of("figure9"), "metrics.csv"),
        weights=PLAN.lists.get("vit_weights") or [],
    output:
        **artifact_outputs("figure9"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure9"),
    log:
        f"{TREE}/logs/figure9.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure9 --runs {input.runs:q} --out-dir {params.out_dir:q}"
        " --preset {params.preset:q} > {log:q} 2>&1"
