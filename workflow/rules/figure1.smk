# Figure 1: every method's guess against backprop's gradient at each checkpoint of the trajectory.


localrules:
    figure1,


rule measure_guesses:
    input:
        trajectory=rules.capture_trajectory.output.result,
        data=data_file(TRAJ["dataset"]),
    output:
        measurements="results/figure1/epoch_{epoch}.csv",
    params:
        snapshot=lambda wildcards, input: os.path.join(os.path.dirname(input.trajectory), "snapshots",
                                                       f"epoch_{wildcards.epoch}.pt"),
        epoch=lambda wildcards: int(wildcards.epoch),
        dataset=TRAJ["dataset"],
        root=dirname_of("data", "input"),
        methods=" ".join(config["figure1"]["methods"]),
        modes=" ".join(config["figure1"]["modes"]),
        batches=config["figure1"]["batches"],
        batch_size=config["figure1"]["batch_size"],
        seed=config["figure1"]["seed"],
    log:
        "logs/measure_guesses/epoch_{epoch}.log",
    wildcard_constraints:
        epoch=r"\d{4}",
    threads: job("cosine", "cpus")
    resources:
        gpu=job("cosine", "gpu"),
        runtime=job("cosine", "runtime"),
        mem_mb=job("cosine", "mem_mb"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess cosine --checkpoint {params.snapshot:q} --epoch {params.epoch}"
        " --dataset {params.dataset} --data-root {params.root:q} --methods {params.methods} --modes {params.modes}"
        " --batches {params.batches} --batch-size {params.batch_size} --seed {params.seed}"
        " --out {output.measurements:q} > {log} 2>&1"


rule figure1:
    input:
        measurements=figure1_measurements(),
    output:
        png=report("paper_figures/figure1.png", caption="../report/figure1.rst", category="Figure 1"),
        pdf="paper_figures/figure1.pdf",
        table_csv=report("paper_figures/figure1_table.csv", caption="../report/figure1_table.rst",
                         category="Figure 1"),
        table_md="paper_figures/figure1_table.md",
        table_tex="paper_figures/figure1_table.tex",
    params:
        figure=prefix_of("png"),
        table=prefix_of("table_csv"),
        preset=preset_name,
        average_from=config["figure1"]["average_from_epoch"],
    log:
        "logs/figure1.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report figure1 --measurements {input.measurements} --figure-prefix {params.figure}"
        " --table-prefix {params.table} --preset {params.preset:q} --average-from-epoch {params.average_from}"
        " > {log} 2>&1"
