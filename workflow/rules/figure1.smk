# Figure 1: every method's guess against backprop's gradient at each checkpoint of the trajectory.


localrules:
    figure1,


rule measure_guesses:
    input:
        trajectory=f"{PLAN.lists['trajectory']}/result.json",
        data=data_file(config["trajectory"]["dataset"]),
    output:
        measurements=f"{TREE}/figure1/epoch_{{epoch}}.csv",
    params:
        snapshot=lambda wildcards, input: os.path.join(os.path.dirname(input.trajectory), "snapshots",
                                                       f"epoch_{wildcards.epoch}.pt"),
        epoch=lambda wildcards: int(wildcards.epoch),
        dataset=config["trajectory"]["dataset"],
        root=dirname_of("data", "input"),
        methods=" ".join(config["figure1"]["methods"]),
        modes=" ".join(config["figure1"]["modes"]),
        batches=config["figure1"]["batches"],
        batch_size=config["figure1"]["batch_size"],
        seed=config["figure1"]["seed"],
        code=job_code("cosine", methods=config["figure1"]["methods"]),
    log:
        f"{TREE}/logs/measure_guesses/epoch_{{epoch}}.log",
    benchmark:
        f"{TREE}/benchmarks/measure_guesses/epoch_{{epoch}}.tsv"
    wildcard_constraints:
        epoch=r"\d{4}",
    group:
        "measure_guesses"
    threads: job("cosine", "cpus")
    resources:
        **gpu_request("cosine"),
        runtime=measure_runtime,
        mem_mb=train_mem(lambda wildcards: PLAN.trajectories[PLAN.lists["trajectory"]], "cosine"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess cosine --checkpoint {params.snapshot:q} --epoch {params.epoch}"
        " --dataset {params.dataset} --data-root {params.root:q} --methods {params.methods} --modes {params.modes}"
        " --batches {params.batches} --batch-size {params.batch_size} --seed {params.seed}"
        " --out {output.measurements:q} > {log:q} 2>&1"


rule figure1:
    input:
        measurements=figure1_measurements(),
    output:
        **artifact_outputs("figure1"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        average_from=config["figure1"]["average_from_epoch"],
        setting=setting_json("dataset", "depth", "width"),
        code=job_code("report figure1"),
    log:
        f"{TREE}/logs/figure1.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure1 --measurements {input.measurements:q} --out-dir {params.out_dir:q}"
        " --preset {params.preset:q} --average-from-epoch {params.average_from}"
        " --setting {params.setting:q} > {log:q} 2>&1"
