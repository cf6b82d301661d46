# Table 1 (§4, A.4): W^T and activation mixing with local losses on Ren et al.'s LocalMixer, CIFAR-10.


localrules:
    table1,


rule table1:
    input:
        adam=run_files(PLAN.runs_of("table1", "adam")),
        augment=run_files(PLAN.runs_of("table1", "augment")),
        augment_long=run_files(PLAN.runs_of("table1", "augment_long")),
        metrics=run_files(sum((PLAN.runs_of("table1", row) for row in gplan.TABLE1_ROWS), []), "metrics.csv"),
    output:
        **artifact_outputs("table1"),
    params:
        out_dir=artifact_dir,
        preset=preset_name,
        code=job_code("report table1"),
    log:
        f"{TREE}/logs/table1.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report table1 --adam {input.adam:q} --augment {input.augment:q}"
        " --augment-long {input.augment_long:q} --out-dir {params.out_dir:q} --preset {params.preset:q} > {log:q} 2>&1"
