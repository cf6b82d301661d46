# Table 2's training runs: one job and one directory per dataset, architecture, method and seed.


rule train:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
    output:
        result="results/train/{dataset}/d{depth}-w{width}/{method}/seed{seed}/result.json",
        metrics="results/train/{dataset}/d{depth}-w{width}/{method}/seed{seed}/metrics.csv",
    params:
        args=lambda wildcards: train_args(table2_settings(wildcards)),
        out=dirname_of("result"),
        checkpoint=lambda wildcards, output: checkpoint_path(os.path.dirname(output.result),
                                                             table2_settings(wildcards)),
    log:
        "logs/train/{dataset}/d{depth}-w{width}/{method}/seed{seed}.log",
    wildcard_constraints:
        dataset="mnist|svhn|cifar10|cifar100|synthetic",
        depth=r"\d+",
        width=r"\d+",
        method=r"[a-z_]+",
        seed=r"\d+",
    threads: job("train", "cpus")
    resources:
        gpu=job("train", "gpu"),
        runtime=job("train", "runtime"),
        mem_mb=job("train", "mem_mb"),
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "OMP_NUM_THREADS={threads} python -m gradguess train {params.args} --out {params.out:q} --checkpoint {params.checkpoint:q}"
        " > {log} 2>&1"
