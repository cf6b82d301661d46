# paper_figures/<preset>/README.md: each artifact with the preset and config that made it.


localrules:
    paper_readme,


rule paper_readme:
    input:
        # the comparison with the paper first: it is what a reader looks for
        artifacts=[rules.comparison.output.md, rules.comparison.output.csv,
                   *(path for paths in PAPER_FIGURES.values() for path in paths)],
    output:
        **artifact_outputs("readme"),
    params:
        # the image jobs ran in is not a result: moving a finished preset into the container re-runs nothing
        # (each run's provenance.json records the image)
        config=json.dumps(result_config(), sort_keys=True),
        # which files held the settings is no result (the settings are, above): a function of the input, so that
        # Snakemake does not count it among the params whose change re-runs the job (a resources-only file)
        configfiles=lambda wildcards, input: quoted(configfiles()),
        code=job_code("report readme"),
    log:
        f"{TREE}/logs/paper_readme.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report readme --out {output.readme:q} --config-out {output.config:q} --config-json {params.config:q}"
        " --configfiles {params.configfiles} --artifacts {input.artifacts:q} > {log:q} 2>&1"
