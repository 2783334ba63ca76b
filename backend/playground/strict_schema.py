"""JSON-schema tightening that structured-output APIs demand.

OpenAI strict mode requires every object to forbid extra properties and to list all of its
properties as required; Anthropic requires the former only. Users paste or record schemas written
for looser validators, so the backend adapts them instead of letting the provider reject them.
The input is never mutated.
"""

from __future__ import annotations

from typing import Any

_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_ONES = ("items", "not", "additionalItems", "contains")


def strict_schema(schema: Any, require_all: bool) -> Any:
    if isinstance(schema, list):
        return [strict_schema(item, require_all) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            out[key] = {name: strict_schema(sub, require_all) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS or key in _SCHEMA_ONES:
            out[key] = strict_schema(value, require_all)
        else:
            out[key] = value
    types = out.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types) or "properties" in out
    if is_object:
        out["additionalProperties"] = False
        if require_all:
            out["required"] = list(out.get("properties", {}))
    return out
