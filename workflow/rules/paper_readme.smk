# paper_figures/README.md: each artifact with the preset and config that made it.


localrules:
    paper_readme,


rule paper_readme:
    input:
        artifacts=[path for paths in PAPER_FIGURES.values() for path in paths],
    output:
        readme="paper_figures/README.md",
        config="paper_figures/config.yaml",
    params:
        config=json.dumps(config, sort_keys=True),
        configfiles=" ".join(shlex.quote(str(c)) for c in workflow.configfiles),
    log:
        "logs/paper_readme.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report readme --out {output.readme} --config-out {output.config} --config-json {params.config:q}"
        " --configfiles {params.configfiles} --artifacts {input.artifacts} > {log} 2>&1"
