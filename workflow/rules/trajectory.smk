# Backprop trajectories that figures measure (Figure 1, Figure 4 left, Figures 2 and 10): the weights
# after every epoch go to snapshots/ beside the declared outputs, like the checkpoint, so a
# resubmitted job resumes. A run Snakemake starts again (forced, or its code changed) starts from
# scratch and rewrites them. Every trajectory is one of the plan's (gradguess.plan).

TRAJECTORY = f"{TREE}/trajectories/{{dataset}}/{{arch}}/e{{epochs}}/seed{{seed}}"


rule capture_trajectory:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
    output:
        result=f"{TRAJECTORY}/result.json",
        metrics=f"{TRAJECTORY}/metrics.csv",
        weights=f"{TRAJECTORY}/weights.pt",
    params:
        spec=lambda wildcards: trajectory_spec(wildcards).to_json(),
        data_root=DATA,
        out=dirname_of("result"),
        snapshots=lambda wildcards, output: os.path.join(os.path.dirname(output.result), "snapshots"),
        checkpoint=lambda wildcards, output: os.path.join(os.path.dirname(output.result),
                                                          f"checkpoint-{trajectory_spec(wildcards).digest()}.pt"),
        history=history_of("result"),
        code=lambda wildcards: train_code(trajectory_spec(wildcards)),
    log:
        f"{TREE}/logs/capture_trajectory/{{dataset}}/{{arch}}/e{{epochs}}/seed{{seed}}.log",
    benchmark:
        f"{TREE}/benchmarks/capture_trajectory/{{dataset}}/{{arch}}/e{{epochs}}/seed{{seed}}.tsv"
    wildcard_constraints:
        dataset="|".join(DATASETS),
        arch=r"d\d+-w\d+",
        epochs=r"\d+",
        seed=r"\d+",
    threads: job("trajectory", "cpus")
    resources:
        **gpu_request("trajectory"),
        runtime=train_runtime(trajectory_spec, "trajectory"),
        mem_mb=train_mem(trajectory_spec, "trajectory"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train --spec {params.spec:q} --data-root {params.data_root:q}"
        " --progress log --out {params.out:q} --snapshot-dir {params.snapshots:q} --checkpoint {params.checkpoint:q}"
        " 2>&1 | tee -a {params.history:q} > {log:q}"
