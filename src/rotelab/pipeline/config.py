"""Load, default-fill and validate a workflow config against ``config.schema.yaml``.

Errors name the offending key (``config key teacher.train.steps: ...``) instead of dumping
the schema, so a typo is found in seconds and before any job runs.
"""

from __future__ import annotations

import copy
from pathlib import Path

import jsonschema
import yaml

from rotelab.pipeline.checks import ConfigError, check_config


def load_schema(path: str | Path) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"only local $refs are supported, got {ref!r}")
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def fill_defaults(instance: dict, schema: dict, root: dict | None = None) -> dict:
    """Insert schema defaults for missing keys and put keys in the schema's order, recursing
    into nested objects in place."""
    root = root or schema
    schema = _resolve(schema, root)
    for key, sub in schema.get("properties", {}).items():
        sub = _resolve(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict):
            fill_defaults(instance[key], sub, root)
    # Keys in the schema's order, whichever file set them first: a job's params are compared
    # with their order, and an overlay that names `lr` before `batch_size` must not rerun it.
    order = {key: i for i, key in enumerate(schema.get("properties", {}))}
    ranked = sorted(instance, key=lambda k: (order.get(k, len(order)), str(k)))
    if ranked != list(instance):
        items = [(k, instance[k]) for k in ranked]
        instance.clear()
        instance.update(items)
    return instance


def _key(path) -> str:
    parts = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "(top level)"


def validate_config(config: dict, schema_path: str | Path) -> dict:
    """Fill defaults into ``config`` and validate it; raise :class:`ConfigError` naming the key."""
    schema = load_schema(schema_path)
    if not isinstance(config, dict):
        raise ConfigError("config must be a mapping of sections")
    fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        error = errors[0]
        if error.validator == "additionalProperties":
            allowed = sorted(_resolve(error.schema, schema).get("properties", {}))
            unknown = sorted(set(error.instance) - set(allowed))
            key = _key([*error.absolute_path, unknown[0]]) if unknown else _key(error.absolute_path)
            raise ConfigError(f"config key {key}: unknown key; allowed here: {', '.join(allowed)}")
        raise ConfigError(f"config key {_key(error.absolute_path)}: {error.message}")
    check_config(config)
    return config
