"""Render the config key reference (docs/config.md) from config.schema.yaml.

    python -m rotelab.pipeline.config_docs config.schema.yaml > docs/config.md

A test keeps the committed page identical to what the schema renders.
"""

from __future__ import annotations

import json
import sys

from rotelab.pipeline.config import load_schema, resolve_ref


def _rows(node: dict, root: dict, prefix: str):
    node = resolve_ref(node, root)
    for key, sub in node.get("properties", {}).items():
        sub = resolve_ref(sub, root)
        path = f"{prefix}{key}"
        if "properties" in sub:
            yield path, "object", "", sub.get("description", "")
            yield from _rows(sub, root, path + ".")
        else:
            kind = sub.get("type", "")
            kind = " or ".join(kind) if isinstance(kind, list) else kind
            if "enum" in sub:
                kind += " (" + ", ".join(map(str, sub["enum"])) + ")"
            default = json.dumps(sub["default"]) if "default" in sub else ""
            yield path, kind, default, sub.get("description", "")


def render(schema: dict) -> str:
    lines = [
        "# Configuration keys",
        "",
        "Generated from `config.schema.yaml` by `python -m rotelab.pipeline.config_docs`; do not edit by hand.",
        "Missing keys take these defaults; unknown keys and wrong types are rejected before any job runs.",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for path, kind, default, text in _rows(schema, schema, ""):
        text = " ".join(text.split()).replace("|", "\\|")
        lines.append(f"| `{path}` | {kind} | {f'`{default}`' if default else ''} | {text} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(load_schema(sys.argv[1] if len(sys.argv) > 1 else "config.schema.yaml")))
