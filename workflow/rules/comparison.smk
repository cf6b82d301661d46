# The paper against ours: every number and claim of the paper beside this preset's (issue: comparison first).


localrules:
    comparison,


rule comparison:
    input:
        figures=[f for name, files in PAPER_FIGURES.items() for f in files if f.endswith(".csv")],
        averaging=f"{TREE}/figure4/averaging.csv" if "figure4" in FIGURES_ON else [],
    output:
        **artifact_outputs("comparison"),
    params:
        figures=artifact_dir,
        averaging=lambda wildcards, input: f"--averaging {quoted(input.averaging)}" if input.averaging else "",
        settings=json.dumps(gplan.measurement_settings(config), sort_keys=True),
        data_root=DATA,  # the data the figures were made from, described per verdict (read, not a dependency)
        preset=preset_name,
        code=job_code("report comparison"),
    log:
        f"{TREE}/logs/comparison.log",
    resources:
        runtime=15,
        mem_mb=4000,
    conda:
        CONDA_ENV
    container:
        config["container"]
    shell:
        "python -m gradguess report comparison --figures {params.figures:q} {params.averaging}"
        " --settings {params.settings:q} --data-root {params.data_root:q}"
        " --preset {params.preset:q} > {log:q} 2>&1"
