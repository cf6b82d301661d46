# Datasets: one job per dataset, each a cached tensor file that every run loads in under a second.


localrules:
    prepare_data,  # login nodes have the internet that compute nodes often lack


rule prepare_data:
    output:
        data=f"{DATA}/{{dataset}}.pt",
    params:
        root=dirname_of("data"),
        source=source_flag,
        limits=lambda wildcards: " ".join(f"--max-{split} {n}" for split, n in (
            ("train", config["data"]["max_train"]), ("test", config["data"]["max_test"])) if n is not None),
        code=lambda wildcards: job_code("data prepare", datasets=[wildcards.dataset]),
    log:
        f"{TREE}/logs/prepare_data/{{dataset}}.log",
    wildcard_constraints:
        dataset="|".join(DATASETS),
    resources:
        runtime=120,
        mem_mb=8000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess data prepare --dataset {wildcards.dataset} --root {params.root:q} {params.source} {params.limits}"
        " > {log:q} 2>&1"
