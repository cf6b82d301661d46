# Training runs: one job per run (all of its seeds) and one directory per seed, whichever figures use it
# (gradguess.plan). The job gets the run's whole specification (`--spec`, a param: a changed setting re-runs the
# run). Figure 5's many-replicate runs live under replicates/, in a rule of their own: a rule's outputs list its seeds.

RUN = f"{TREE}/runs/{{dataset}}/{{arch}}/{{name}}/e{{epochs}}"
REPLICATE_RUN = f"{TREE}/replicates/{{dataset}}/{{arch}}/{{name}}/e{{epochs}}"


rule train:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
        reference=reference_input("runs"),
    output:
        **run_outputs(RUN, SEEDS),
    params:
        **train_params("runs"),
    log:
        f"{TREE}/logs/train/{{dataset}}/{{arch}}/{{name}}/e{{epochs}}.log",
    benchmark:
        f"{TREE}/benchmarks/train/{{dataset}}/{{arch}}/{{name}}/e{{epochs}}.tsv"
    wildcard_constraints:
        dataset="|".join(DATASETS),
        arch=r"[a-z0-9]+(-[a-z]\d+)+",
        name=r"[a-z0-9_.\-]+",
        epochs=r"\d+",
    group:
        short_group("short_train", spec_of)
    threads: job("train", "cpus")
    resources:
        gpu=job("train", "gpu"),
        runtime=train_runtime(spec_of),
        mem_mb=train_mem(spec_of),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train --spec {params.spec:q} --data-root {params.data_root:q}"
        " --progress log --out {params.out:q} --checkpoint {params.checkpoint:q} {params.reference}"
        " 2>&1 | tee -a {params.history:q} > {log}"


use rule train as train_replicates with:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
        reference=reference_input("replicates"),
    output:
        **run_outputs(REPLICATE_RUN, REPLICATES),
    params:
        **train_params("replicates"),
    log:
        f"{TREE}/logs/train_replicates/{{dataset}}/{{arch}}/{{name}}/e{{epochs}}.log",
    benchmark:
        f"{TREE}/benchmarks/train_replicates/{{dataset}}/{{arch}}/{{name}}/e{{epochs}}.tsv"
    group:
        short_group("short_train", lambda wildcards: spec_of(wildcards, "replicates"))
    resources:
        gpu=job("train", "gpu"),
        runtime=train_runtime(lambda wildcards: spec_of(wildcards, "replicates")),
        mem_mb=train_mem(lambda wildcards: spec_of(wildcards, "replicates")),
