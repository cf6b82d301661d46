# Figure 2 (§3.3): gradients lie in the activations' subspace. Left: class images from one trajectory's
# first and last snapshot; right: per trajectory, projections onto the activations' top-k directions
# at every epoch (Figure 10 draws the same measurements apart, with more widths).


localrules:
    figure2,


rule measure_subspace:
    input:
        trajectory=f"{TREE}/trajectories/{{trajectory}}/result.json",
        data=lambda wildcards: data_file(config["figure2"]["dataset"]),
    output:
        curves=f"{TREE}/figure2/subspace/{{trajectory}}.csv",
    params:
        run=dirname_of("trajectory", "input"),
        root=dirname_of("data", "input"),
        examples=config["figure2"]["examples"],
        center="--center" if config["figure2"]["center"] else "--no-center",
        seed=config["figure2"]["seed"],
        code=job_code("subspace"),
    log:
        f"{TREE}/logs/measure_subspace/{{trajectory}}.log",
    benchmark:
        f"{TREE}/benchmarks/measure_subspace/{{trajectory}}.tsv"
    wildcard_constraints:
        trajectory=r"[a-z0-9]+/d\d+-w\d+/e\d+/seed\d+",
    threads: job("cosine", "cpus")
    resources:
        **gpu_request("cosine"),
        runtime=30,
        mem_mb=8000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess subspace --trajectory {params.run:q} --data-root {params.root:q}"
        " --examples {params.examples} {params.center} --seed {params.seed} --out {output.curves:q} > {log:q} 2>&1"


rule class_images:
    input:
        trajectory=f"{PLAN.lists['figure2_left']}/result.json" if PLAN.lists["figure2_left"] else [],
        data=data_file(config["figure2"]["left"]["dataset"]),
    output:
        images=f"{TREE}/figure2/class_images.csv",
    params:
        run=dirname_of("trajectory", "input"),
        root=dirname_of("data", "input"),
        examples=config["figure2"]["left"]["examples"],
        center="--center" if config["figure2"]["center"] else "--no-center",
        seed=config["figure2"]["seed"],
        code=job_code("class-images"),
    log:
        f"{TREE}/logs/class_images.log",
    threads: job("cosine", "cpus")
    resources:
        **gpu_request("cosine"),
        runtime=30,
        mem_mb=8000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess class-images --trajectory {params.run:q}"
        " --data-root {params.root:q} --examples {params.examples} {params.center} --seed {params.seed}"
        " --out {output.images:q} > {log:q} 2>&1"


rule figure2:
    input:
        subspace=[subspace_csv(t) for t in PLAN.lists["figure2"].values()],
        images=rules.class_images.output.images,
    output:
        **artifact_outputs("figure2"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report figure2"),
    log:
        f"{TREE}/logs/figure2.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure2 --subspace {input.subspace:q} --images {input.images:q}"
        " --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
