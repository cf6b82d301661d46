# Training runs: one job per run (all of its seeds) and one directory per seed, whichever figures use
# it (see RUNS in common.smk).

RUN = f"{TREE}/runs/{{dataset}}/d{{depth}}-w{{width}}/{{method}}/e{{epochs}}"


rule train:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
    output:
        results=expand(f"{RUN}/seed{{seed}}/result.json", seed=SEEDS, allow_missing=True),
        metrics=expand(f"{RUN}/seed{{seed}}/metrics.csv", seed=SEEDS, allow_missing=True),
        weights=expand(f"{RUN}/seed{{seed}}/weights.pt", seed=SEEDS, allow_missing=True),
    params:
        args=lambda wildcards: train_args(settings_of(wildcards)),
        out=lambda wildcards, output: os.path.join(os.path.dirname(os.path.dirname(output.results[0])), "seed{seed}"),
        checkpoint=lambda wildcards, output: checkpoint_path(os.path.dirname(os.path.dirname(output.results[0])),
                                                             settings_of(wildcards)),
        history=lambda wildcards, output: os.path.join(os.path.dirname(os.path.dirname(output.results[0])),
                                                       "history.log"),
        code=training_code,
    log:
        f"{TREE}/logs/train/{{dataset}}/d{{depth}}-w{{width}}/{{method}}/e{{epochs}}.log",
    benchmark:
        f"{TREE}/benchmarks/train/{{dataset}}/d{{depth}}-w{{width}}/{{method}}/e{{epochs}}.tsv"
    wildcard_constraints:
        dataset="|".join(DATASETS),
        depth=r"\d+",
        width=r"\d+",
        method=r"[a-z0-9_]+",
        epochs=r"\d+",
    group:
        short_group("short_train", settings_of)
    threads: job("train", "cpus")
    resources:
        gpu=job("train", "gpu"),
        runtime=train_runtime(settings_of),
        mem_mb=train_mem(settings_of),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train {params.args} --out {params.out:q}"
        " --checkpoint {params.checkpoint:q} 2>&1 | tee -a {params.history:q} > {log}"
