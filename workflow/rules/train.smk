# Training runs (gradguess.plan): one directory per run, one per seed inside it, whichever figures use it. The job
# gets the run's whole specification (`--spec`, a param: a changed setting re-runs the run). How a run becomes jobs
# is the plan's (plan.schedule, from execution.max_job_hours): all its seeds in one job (`train`; Figure 5's many
# seeds: `train_replicates`), or a job per seed (`train_seed`), that job a chain of chunks of epochs (`train_chunk`)
# where one seed is too long for one job. A chunk's declared output is the state the next chunk starts from.
# Every train rule runs the same command line (TRAIN_SHELL; the job's own part is a param derived from its files)
# and a finished seed needs no chunk (last_chunk), so that Snakemake, which re-runs a job whose rule code, params
# or input files changed, sees no change when a finished run's layout does (a new execution.max_job_hours).


rule train:
    input:
        data=lambda wildcards: data_file(spec_of(wildcards).dataset),
        model=model_inputs,
        reference=reference_input,
    output:
        **run_outputs(f"{TREE}/{{run}}", SEEDS),
    params:
        **train_params(),
        job=lambda wildcards, input: "",
    log:
        f"{TREE}/logs/train/{{run}}.log",
    benchmark:
        f"{TREE}/benchmarks/train/{{run}}.tsv"
    wildcard_constraints:
        run=runs_matching(whole=True, seeds=SEEDS),
    group:
        short_group("short_train", spec_of)
    threads: job("train", "cpus")
    resources:
        **gpu_request("train"),
        runtime=train_runtime(spec_of),
        mem_mb=train_mem(spec_of),
        batch_seeds=batch_seeds,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        TRAIN_SHELL


use rule train as train_replicates with:
    output:
        **run_outputs(f"{TREE}/{{run}}", REPLICATES),
    wildcard_constraints:
        run=runs_matching(whole=True, seeds=REPLICATES),
    log:
        f"{TREE}/logs/train_replicates/{{run}}.log",
    benchmark:
        f"{TREE}/benchmarks/train_replicates/{{run}}.tsv"


rule train_chunk:
    input:
        data=lambda wildcards: data_file(spec_of(wildcards).dataset),
        model=model_inputs,
        reference=reference_input,
        previous=previous_chunk,
    output:
        chunk=temp(f"{TREE}/{{run}}/seed{{seed}}/chunks/chunk{{k}}.pt"),
    params:
        **train_params(),
        until=lambda wildcards: chunk_end(wildcards),  # not derived: a changed end re-runs the chunk
        job=lambda wildcards, input, output: (f"--seed {wildcards.seed} --until-epoch {chunk_end(wildcards)}"
                                              f" --chunk {quoted(output.chunk)}{resume_flag(input)}"),
    log:
        f"{TREE}/logs/train/{{run}}/seed{{seed}}-chunk{{k}}.log",
    benchmark:
        f"{TREE}/benchmarks/train/{{run}}/seed{{seed}}-chunk{{k}}.tsv"
    wildcard_constraints:
        run=runs_matching(whole=False),
        seed=r"\d+",
        k=r"\d+",
    threads: job("train", "cpus")
    resources:
        **gpu_request("train"),
        runtime=chunk_runtime,
        mem_mb=train_mem(spec_of),
        batch_seeds=0,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        TRAIN_SHELL


rule train_seed:
    input:
        data=lambda wildcards: data_file(spec_of(wildcards).dataset),
        model=model_inputs,
        reference=reference_input,
        previous=last_chunk,
    output:
        **{name: files[0] for name, files in run_outputs(f"{TREE}/{{run}}", ["{seed}"]).items()},
    params:
        **train_params(),
        job=lambda wildcards, input: f"--seed {wildcards.seed}{resume_flag(input)}",
    log:
        f"{TREE}/logs/train/{{run}}/seed{{seed}}.log",
    benchmark:
        f"{TREE}/benchmarks/train/{{run}}/seed{{seed}}.tsv"
    wildcard_constraints:
        run=runs_matching(whole=False),
        seed=r"\d+",
    threads: job("train", "cpus")
    resources:
        **gpu_request("train"),
        runtime=chunk_runtime,
        mem_mb=train_mem(spec_of),
        batch_seeds=0,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        TRAIN_SHELL
