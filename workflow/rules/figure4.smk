# Figure 4 (§4): averaging guesses of one example (left), matched cosine (middle), bias and momentum (right).


localrules:
    figure4,


rule average_guesses:
    input:
        trajectory=f"{PLAN.lists['trajectory']}/result.json",
        data=data_file(config["trajectory"]["dataset"]),
    output:
        averaging=f"{TREE}/figure4/averaging.csv",
    params:
        snapshot=trajectory_snapshot(config["figure4"]["snapshot_epoch"]),
        dataset=config["trajectory"]["dataset"],
        root=dirname_of("data", "input"),
        methods=" ".join(config["figure4"]["methods"]),
        modes=" ".join(config["figure4"]["modes"]),
        examples=config["figure4"]["examples"],
        max_guesses=config["figure4"]["max_guesses"],
        chunk=config["figure4"]["chunk"],
        batch_size=config["trajectory"]["batch_size"],
        code=job_code("averaging", methods=config["figure4"]["methods"]),
    log:
        f"{TREE}/logs/average_guesses.log",
    benchmark:
        f"{TREE}/benchmarks/average_guesses.tsv"
    threads: job("cosine", "cpus")
    resources:
        **gpu_request("cosine"),
        runtime=lambda wildcards, attempt: jobsize.analysis_minutes(
            config["trajectory"]["dataset"], config["trajectory"]["depth"], config["trajectory"]["width"],
            jobsize.averaging_passes(config["figure4"]), gpu=job("cosine", "gpu") > 0, attempt=attempt),
        mem_mb=train_mem(lambda wildcards: PLAN.trajectories[PLAN.lists["trajectory"]], "cosine"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess averaging --checkpoint {params.snapshot:q}"
        " --dataset {params.dataset} --data-root {params.root:q} --methods {params.methods}"
        " --modes {params.modes} --examples {params.examples} --max-guesses {params.max_guesses} --chunk {params.chunk}"
        " --batch-size {params.batch_size} --out {output.averaging:q} > {log:q} 2>&1"


rule figure4:
    input:
        averaging=rules.average_guesses.output.averaging,
        middle=run_files(PLAN.runs_of("figure4", "middle")),
        right=run_files(PLAN.runs_of("figure4", "right")),
        metrics=run_files(PLAN.runs_of("figure4", "middle") + PLAN.runs_of("figure4", "right"), "metrics.csv"),
    output:
        **artifact_outputs("figure4"),
    params:
        out_dir=artifact_dir,
        paper_mode=config["figure4"]["paper_mode"],
        setting=setting_json("dataset", "depth", "width"),
        preset=preset_name,
        code=job_code("report figure4"),
    log:
        f"{TREE}/logs/figure4.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure4 --averaging {input.averaging:q} --middle {input.middle:q}"
        " --right {input.right:q} --paper-mode {params.paper_mode} --setting {params.setting:q}"
        " --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
