"""Malformed overlays, generated: each is rejected before any job runs with an error that
names a config key (no traceback), or accepted and valid."""

import copy
import math
import re
from functools import cache

import yaml
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotelab.pipeline.checks import ConfigError
from rotelab.pipeline.config import load_schema, resolve_ref, validate_config

SCHEMA = REPO / "config.schema.yaml"


@cache
def default_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())


def schema_leaves(schema: dict, root: dict, path=()) -> list[tuple[tuple, dict]]:
    """(key path, schema) of every key that holds a value rather than a section."""
    schema = resolve_ref(schema, root)
    if schema.get("type") != "object" or "properties" not in schema:
        return [(path, schema)]
    out = []
    for key, sub in schema["properties"].items():
        out += schema_leaves(sub, root, (*path, key))
    return out


ROOT = load_schema(SCHEMA)
LEAVES = schema_leaves(ROOT, ROOT)
KEYS = {".".join(path) for path, _ in LEAVES} | {".".join(path[:i]) for path, _ in LEAVES for i in range(1, len(path))}

MALFORMED = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 100.0, 0.0, 1.0, -1, 0, 10**9, "", "x", None, True]),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
    st.integers(min_value=-1000, max_value=100_000),
    st.text(max_size=6),
    st.lists(st.integers(min_value=-2, max_value=300), max_size=4),
    st.lists(st.sampled_from(["loss", "zlib", "min_k", "lira_online", "klingon"]), max_size=4),
    st.lists(st.floats(allow_infinity=True, allow_nan=True), min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(["a", "steps", "lr"]), st.integers(), max_size=2),
)


def named_key(message: str) -> str:
    match = re.match(r"config key ([^:]+): ", message)
    assert match, f"error does not name a config key: {message}"
    return re.sub(r"\[\d+\]", "", match.group(1))


def assert_valid(config: dict) -> None:
    for path, schema in LEAVES:
        value = config
        for part in path:
            value = value[part]
        values = value if isinstance(value, list) else [value]
        for v in values:
            assert not (isinstance(v, float) and not math.isfinite(v)), path
        if schema.get("type") == "integer":
            assert isinstance(value, int) and not isinstance(value, bool), (path, value)
    validate_config(copy.deepcopy(config), SCHEMA)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(leaf=st.sampled_from(LEAVES), value=MALFORMED)
def test_malformed_overlay_is_rejected_naming_a_key_or_accepted_valid(leaf, value):
    path, _ = leaf
    config = copy.deepcopy(default_config())
    section = config
    for part in path[:-1]:
        section = section.setdefault(part, {})
    section[path[-1]] = value
    try:
        accepted = validate_config(config, SCHEMA)
    except ConfigError as error:
        key = named_key(str(error))
        assert key in KEYS, f"error names {key!r}, which is no config key: {error}"
        # the changed key, or one it contradicts (then the message names the changed one)
        assert key == ".".join(path) or path[-1] in str(error), f"changed {'.'.join(path)}: {error}"
        return
    assert_valid(accepted)
