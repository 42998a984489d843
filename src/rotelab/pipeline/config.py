"""Load, default-fill and validate a workflow config against ``config.schema.yaml``.

Errors name the offending key (``config key teacher.train.steps: ...``) instead of dumping
the schema, so a typo is found in seconds and before any job runs. Stricter than JSON Schema
alone where its leniency would give wrong numbers later: an integer key takes no float (not
even ``100.0``), no number may be NaN or infinite, a list may not repeat a value, and a YAML
file may not set one key twice (YAML keeps the last silently).
"""

from __future__ import annotations

import copy
import functools
import math
from pathlib import Path

import jsonschema
import yaml

from rotelab.models.causal_lm_recipes import recipe_dropout
from rotelab.pipeline.checks import ConfigError, check_config


def load_schema(path: str | Path) -> dict:
    """The schema at ``path``, parsed once per process (callers must not modify it)."""
    return _parsed_schema(str(Path(path).resolve()))


@functools.cache
def _parsed_schema(path: str) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def resolve_ref(schema: dict, root: dict) -> dict:
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
    schema = resolve_ref(schema, root)
    for key, sub in schema.get("properties", {}).items():
        sub = resolve_ref(sub, root)
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


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# JSON Schema counts 100.0 as an integer; a job would crash on it after hours of work.
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def check_config_files(paths) -> None:
    """Every YAML config file sets each key once: YAML would keep the last value silently."""
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            try:
                root = yaml.compose(fh, Loader=yaml.SafeLoader)
            except yaml.YAMLError as exc:
                raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
        repeat = next(_repeated_keys(root, []), None)
        if repeat is not None:
            key, line, first = repeat
            raise ConfigError(
                f"{path}, line {line}: config key {_key(key)} is set twice in one file (first on line "
                f"{first}); YAML would keep only the later value"
            )


def _repeated_keys(node, path):
    if isinstance(node, yaml.MappingNode):
        seen = {}
        for key_node, value in node.value:
            key, line = key_node.value, key_node.start_mark.line + 1
            if key in seen:
                yield [*path, key], line, seen[key]
            seen.setdefault(key, line)
            yield from _repeated_keys(value, [*path, key])
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _repeated_keys(item, [*path, i])


def _reject_non_finite(value, path) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key {_key(path)}: {value} is not a finite number")
    if isinstance(value, dict):
        for k, v in value.items():
            _reject_non_finite(v, [*path, k])
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _reject_non_finite(v, [*path, i])


def _repeat_message(error) -> str:
    """The first repeated value of a list, with both positions."""
    first = {}
    for j, value in enumerate(error.instance):
        key = repr(value) if isinstance(value, (dict, list)) else value
        if key in first:
            where = _key([*error.absolute_path, first[key]])
            return (
                f"config key {_key([*error.absolute_path, j])}: {value!r} repeats {where}; each value "
                "is one run, attack or source, and a repeat would count it twice"
            )
        first[key] = j
    return f"config key {_key(error.absolute_path)}: {error.message}"


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
    _reject_non_finite(config, [])
    fill_defaults(config, schema)
    validator = Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: (len(e.absolute_path), e.path))
    if errors:
        error = errors[0]
        if error.validator == "uniqueItems":
            raise ConfigError(_repeat_message(error))
        if error.validator == "additionalProperties":
            allowed = sorted(resolve_ref(error.schema, schema).get("properties", {}))
            unknown = sorted(set(error.instance) - set(allowed))
            key = _key([*error.absolute_path, unknown[0]]) if unknown else _key(error.absolute_path)
            raise ConfigError(f"config key {key}: unknown key; allowed here: {', '.join(allowed)}")
        raise ConfigError(f"config key {_key(error.absolute_path)}: {error.message}")
    check_config(config)
    resolve_recipe_defaults(config)
    return config


def resolve_recipe_defaults(config: dict) -> None:
    """Replace a null that means "the recipe's own" by that value, which JSON Schema cannot
    state: every job's params and every figure's caption then show the number a model was
    built with, and a config that names it gives the same params as one that leaves it out."""
    model = config["lm"]["base"]["model"]
    model["dropout"] = recipe_dropout(model["recipe"], model["dropout"])
