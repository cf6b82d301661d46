# The backprop run whose per-epoch weights Figure 1 measures (§4): the weights after every epoch
# go to snapshots/ beside the declared outputs, like the checkpoint, so a resubmitted job resumes.
# A run Snakemake starts again (forced, or its code changed) starts from scratch and rewrites them.


rule capture_trajectory:
    input:
        data=data_file(TRAJ["dataset"]),
    output:
        result=f"{TRAJ_DIR}/result.json",
        metrics=f"{TRAJ_DIR}/metrics.csv",
        weights=f"{TRAJ_DIR}/weights.pt",
    params:
        args=train_args(trajectory_settings()),
        out=dirname_of("result"),
        snapshots=lambda wildcards, output: os.path.join(os.path.dirname(output.result), "snapshots"),
        checkpoint=lambda wildcards, output: checkpoint_path(os.path.dirname(os.path.dirname(output.result)),
                                                             trajectory_settings()).format(seed=TRAJ["seed"]),
        history=history_of("result"),
        code=lineage.training_digest("backprop"),
    log:
        f"{TREE}/logs/capture_trajectory.log",
    benchmark:
        f"{TREE}/benchmarks/capture_trajectory.tsv"
    threads: job("trajectory", "cpus")
    resources:
        gpu=job("trajectory", "gpu"),
        runtime=train_runtime(trajectory_settings(), "trajectory"),
        mem_mb=train_mem(trajectory_settings(), "trajectory"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train {params.args} --out {params.out:q}"
        " --snapshot-dir {params.snapshots:q} --checkpoint {params.checkpoint:q} 2>&1 | tee -a {params.history:q} > {log}"
