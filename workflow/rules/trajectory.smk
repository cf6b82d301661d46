# The backprop run whose per-epoch weights Figure 1 measures (§4): the weights after every epoch
# go to snapshots/ beside the declared outputs, like the checkpoint, so a resubmitted job resumes.


rule capture_trajectory:
    input:
        data=data_file(TRAJ["dataset"]),
    output:
        result=f"{TRAJ_DIR}/result.json",
        metrics=f"{TRAJ_DIR}/metrics.csv",
    params:
        args=train_args(trajectory_settings()),
        out=dirname_of("result"),
        snapshots=lambda wildcards, output: os.path.join(os.path.dirname(output.result), "snapshots"),
        checkpoint=lambda wildcards, output: checkpoint_path(os.path.dirname(output.result), trajectory_settings()),
    log:
        "logs/capture_trajectory.log",
    threads: job("trajectory", "cpus")
    resources:
        gpu=job("trajectory", "gpu"),
        runtime=job("trajectory", "runtime"),
        mem_mb=job("trajectory", "mem_mb"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train {params.args} --out {params.out:q} --snapshot-dir {params.snapshots:q}"
        " --checkpoint {params.checkpoint:q} > {log} 2>&1"
