# Table 1 (§4, A.4): W^T and activation mixing with local losses on Ren et al.'s LocalMixer, CIFAR-10.


localrules:
    table1,


rule table1:
    input:
        runs=run_files(TABLE1_RUNS["adam"] + TABLE1_RUNS["augment"] + TABLE1_RUNS["augment_long"]),
        metrics=run_files(TABLE1_RUNS["adam"] + TABLE1_RUNS["augment"] + TABLE1_RUNS["augment_long"], "metrics.csv"),
    output:
        csv=report(f"{FIGURES}/table1.csv", caption="../report/table1.rst", category="Table 1"),
        md=f"{FIGURES}/table1.md",
        tex=f"{FIGURES}/table1.tex",
    params:
        prefix=prefix_of("csv"),
        adam=TABLE1_RUNS["adam"],
        augment=TABLE1_RUNS["augment"],
        augment_long=TABLE1_RUNS["augment_long"],
        preset=preset_name,
        code=code_of("report.table1"),
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
        "python -m gradguess report table1 --adam {params.adam} --augment {params.augment}"
        " --augment-long {params.augment_long} --out-prefix {params.prefix} --preset {params.preset:q} > {log} 2>&1"
