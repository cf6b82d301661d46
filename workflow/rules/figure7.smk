# Figure 7 (A.3): more downstream layers do not help (left); Jacobian spectra through k layers (right).


localrules:
    figure7,


rule jacobian_spectra:
    input:
        weights=f"{PLAN.lists['jacobian']}/seed{SEEDS[0]}/weights.pt" if PLAN.lists.get("jacobian") else [],
        data=data_file(config["figure7"]["jacobian"]["dataset"]),
    output:
        spectra=f"{TREE}/figure7/spectra.csv",
    params:
        run=dirname_of("weights", "input"),
        root=dirname_of("data", "input"),
        layer=config["figure7"]["jacobian"]["layer"],
        depths=" ".join(map(str, config["figure7"]["jacobian"]["depths"])),
        examples=config["figure7"]["jacobian"]["examples"],
        code=job_code("jacobian"),
    log:
        f"{TREE}/logs/jacobian_spectra.log",
    benchmark:
        f"{TREE}/benchmarks/jacobian_spectra.tsv"
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
        "OMP_NUM_THREADS={threads} python -m gradguess jacobian --run {params.run:q} --data-root {params.root:q}"
        " --layer {params.layer} --depths {params.depths} --examples {params.examples}"
        " --out {output.spectra:q} > {log:q} 2>&1"


rule figure7:
    input:
        spectra=rules.jacobian_spectra.output.spectra,
        runs=run_files(PLAN.runs_of("figure7")),
        metrics=run_files(PLAN.runs_of("figure7"), "metrics.csv"),
    output:
        **artifact_outputs("figure7"),
    params:
        out_dir=artifact_dir,
        jacobian=json.dumps({k: config["figure7"]["jacobian"][k] for k in ("dataset", "depth", "width", "layer")}),
        preset=preset_name,
        code=job_code("report figure7"),
    log:
        f"{TREE}/logs/figure7.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure7 --runs {input.runs:q} --spectra {input.spectra:q} --jacobian {params.jacobian:q}"
        " --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
