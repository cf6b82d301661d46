# Training runs: one job per run (all of its seeds) and one directory per seed, whichever figures use
# it (see RUNS in common.smk). Figure 5's many-replicate runs live under replicates/, in a rule of
# their own because a rule's outputs list its seeds.

RUN = f"{TREE}/runs/{{dataset}}/{{arch}}/{{method}}/e{{epochs}}"
REPLICATE_RUN = f"{TREE}/replicates/{{dataset}}/{{arch}}/{{method}}/e{{epochs}}"


rule train:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
        reference=reference_input("runs"),
    output:
        **run_outputs(RUN, SEEDS),
    params:
        **train_params("runs"),
    log:
        f"{TREE}/logs/train/{{dataset}}/{{arch}}/{{method}}/e{{epochs}}.log",
    benchmark:
        f"{TREE}/benchmarks/train/{{dataset}}/{{arch}}/{{method}}/e{{epochs}}.tsv"
    wildcard_constraints:
        dataset="|".join(DATASETS),
        arch=r"d\d+-w\d+|mixer-b\d+-c\d+-p\d+-g\d+",
        method=r"[a-z0-9_.\-]+",
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
        " --checkpoint {params.checkpoint:q} {params.reference} 2>&1 | tee -a {params.history:q} > {log}"


use rule train as train_replicates with:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
        reference=reference_input("replicates"),
    output:
        **run_outputs(REPLICATE_RUN, REPLICATES),
    params:
        **train_params("replicates"),
    log:
        f"{TREE}/logs/train_replicates/{{dataset}}/{{arch}}/{{method}}/e{{epochs}}.log",
    benchmark:
        f"{TREE}/benchmarks/train_replicates/{{dataset}}/{{arch}}/{{method}}/e{{epochs}}.tsv"
    group:
        short_group("short_train", replicate_settings_of)
    resources:
        gpu=job("train", "gpu"),
        runtime=train_runtime(replicate_settings_of),
        mem_mb=train_mem(replicate_settings_of),
