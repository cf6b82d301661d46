# Backprop trajectories that figures measure (Figure 1, Figure 4 left, Figures 2 and 10): the weights
# after every epoch go to snapshots/ beside the declared outputs, like the checkpoint, so a
# resubmitted job resumes. A run Snakemake starts again (forced, or its code changed) starts from
# scratch and rewrites them. Every trajectory is registered in common.smk (TRAJECTORIES).

TRAJECTORY = f"{TREE}/trajectories/{{dataset}}/d{{depth}}-w{{width}}/e{{epochs}}/seed{{seed}}"


rule capture_trajectory:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
    output:
        result=f"{TRAJECTORY}/result.json",
        metrics=f"{TRAJECTORY}/metrics.csv",
        weights=f"{TRAJECTORY}/weights.pt",
    params:
        args=lambda wildcards: train_args(trajectory_of(wildcards)),
        out=dirname_of("result"),
        snapshots=lambda wildcards, output: os.path.join(os.path.dirname(output.result), "snapshots"),
        checkpoint=lambda wildcards, output: checkpoint_path(os.path.dirname(os.path.dirname(output.result)),
                                                             trajectory_of(wildcards)).format(seed=wildcards.seed),
        history=history_of("result"),
        code=lineage.training_digest("backprop"),
    log:
        f"{TREE}/logs/capture_trajectory/{{dataset}}/d{{depth}}-w{{width}}/e{{epochs}}/seed{{seed}}.log",
    benchmark:
        f"{TREE}/benchmarks/capture_trajectory/{{dataset}}/d{{depth}}-w{{width}}/e{{epochs}}/seed{{seed}}.tsv"
    wildcard_constraints:
        dataset="|".join(DATASETS),
        depth=r"\d+",
        width=r"\d+",
        epochs=r"\d+",
        seed=r"\d+",
    threads: job("trajectory", "cpus")
    resources:
        gpu=job("trajectory", "gpu"),
        runtime=train_runtime(trajectory_of, "trajectory"),
        mem_mb=train_mem(trajectory_of, "trajectory"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train {params.args} --out {params.out:q}"
        " --snapshot-dir {params.snapshots:q} --checkpoint {params.checkpoint:q} 2>&1 | tee -a {params.history:q} > {log}"
