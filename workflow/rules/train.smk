# Table 2's training runs: one job and one directory per dataset, architecture, method and seed.


def _train_settings(wildcards):
    return run_settings(wildcards.method, wildcards.dataset, wildcards.depth, wildcards.width, wildcards.seed,
                        config["table2"]["epochs"])


def _run_dir(wildcards):
    return f"results/train/{wildcards.dataset}/d{wildcards.depth}-w{wildcards.width}/{wildcards.method}/seed{wildcards.seed}"


rule train:
    input:
        data=lambda wildcards: data_file(wildcards.dataset),
    output:
        result="results/train/{dataset}/d{depth}-w{width}/{method}/seed{seed}/result.json",
        metrics="results/train/{dataset}/d{depth}-w{width}/{method}/seed{seed}/metrics.csv",
    params:
        args=lambda wildcards: train_args(_train_settings(wildcards)),
        out=_run_dir,
        checkpoint=lambda wildcards: checkpoint_path(_run_dir(wildcards), _train_settings(wildcards)),
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
        "OMP_NUM_THREADS={threads} {GG} train {params.args} --out {params.out:q} --checkpoint {params.checkpoint:q}"
        " > {log} 2>&1"
