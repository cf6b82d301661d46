"""The configuration: config.yaml with presets laid over it (as snakemake's --configfile does), checked against
the schema (workflow/schemas/config.schema.yaml) with an error naming the first bad key. Torch-free."""
from __future__ import annotations

from pathlib import Path

import yaml

SCHEMA = Path("workflow") / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A configuration key is missing, misspelt or holds a bad value; the message names it."""


def merge(base: dict, over: dict) -> dict:
    """`over` laid over `base`, mappings merged key by key, anything else replaced (snakemake's --configfile)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def validate(config: dict, schema_path) -> None:
    """Check against the schema, naming the first bad keys as dotted paths (methods.wt.options.mode)."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = [f"  config key {'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {_message(e)}"
                 for e in errors[:5]]
        raise ConfigError("invalid configuration (config.yaml and --configfile presets):\n" + "\n".join(lines))


def _message(error) -> str:
    """jsonschema's message, or the schema's own words where it has them (a path's rule, rather than its regex)."""
    if isinstance(error.schema, dict) and error.schema.get("errorMessage"):
        return f"{error.instance!r} {error.schema['errorMessage']}"
    return error.message


def load(files, schema_path=None) -> dict:
    """The merged, validated configuration of `files` (config.yaml first)."""
    config: dict = {}
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise ConfigError(f"config file {f} does not exist")
        config = merge(config, yaml.safe_load(path.read_text()) or {})
    validate(config, schema_path or Path(files[0]).resolve().parent / SCHEMA)
    return config
