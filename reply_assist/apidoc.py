"""Writes the HTTP API reference, ``docs/api.md``, from the app's OpenAPI schema and the error tree.

    python -m reply_assist.apidoc > docs/api.md

The reference has a short hand-written part (``apidoc_intro.md`` beside this module:
conventions, auth and roles, idempotency, streaming, warnings) and a generated part: every
operation with who may call it, its parameters, body, responses and error codes (from the
schema, which ``api/openapi.py`` completes), every type with every field and allowed value, and
every error code with its status and meaning (``errors.ERROR_CODES``). A test fails when
docs/api.md differs from what this writes, so the reference cannot drift from the code: change
a route, a type or an error, then run the command above.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reply_assist.errors import ERROR_CODES

__all__ = ["render"]

_METHODS = ("get", "put", "post", "patch", "delete")

# The hand-written part: conventions, auth and roles, generating, idempotency, streaming.
_INTRO = Path(__file__).with_name("apidoc_intro.md")

# Litestar's default response descriptions, said plainly.
_PLAIN = {
    "Request fulfilled, document follows": "OK:",
    "Document created, URL follows": "Created:",
    "Request fulfilled, nothing follows": "Done, no body.",
}


def _anchor(name: str) -> str:
    return name.lower()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(schema: Mapping[str, Any]) -> str:
    """A schema as a short type: `string`, [`Review`](#review), `array of string`, ..."""
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f"[`{name}`](#{_anchor(name)})"
    for key in ("oneOf", "anyOf"):
        if key in schema:
            parts = [_type(part) for part in schema[key]]
            return " or ".join(dict.fromkeys(parts))
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"object of string → {_type(schema['additionalProperties'])}"
    if schema.get("format") == "date-time":
        return "string (RFC 3339)"
    return str(kind or "any")


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _notes(schema: Mapping[str, Any]) -> str:
    """Allowed values and limits, from the schema and its nested alternatives and items."""
    notes: list[str] = []
    parts = [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]
    if isinstance(schema.get("items"), dict):
        parts.append(schema["items"])
    for part in parts:
        if "enum" in part:
            notes.append("one of " + ", ".join(f"`{_value(value)}`" for value in part["enum"]))
        if "pattern" in part:
            notes.append(f"pattern `{part['pattern']}`")
    limits = (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "≥ {}"),
        ("maximum", "≤ {}"),
        ("exclusiveMinimum", "> {}"),
        ("exclusiveMaximum", "< {}"),
        ("minItems", "at least {} items"),
        ("maxItems", "at most {} items"),
    )
    for key, text in limits:
        if key in schema:
            notes.append(text.format(schema[key]))
    if "default" in schema:
        notes.append(f"default `{_value(schema['default'])}`")
    description = schema.get("description")
    if description:
        notes.insert(0, str(description).rstrip("."))
    return "; ".join(dict.fromkeys(notes))


def _fields_table(schema: Mapping[str, Any]) -> list[str]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    lines = ["| field | type | required | allowed values, limits, meaning |", "|---|---|---|---|"]
    for name, prop in properties.items():
        lines.append(
            f"| `{name}` | {_cell(_type(prop))} | {'yes' if name in required else 'no'} | "
            f"{_cell(_notes(prop))} |"
        )
    return lines


def _operations(schema: Mapping[str, Any]) -> list[tuple[str, str, Mapping[str, Any]]]:
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                found.append((path, method, item[method]))
    return sorted(found, key=lambda op: (op[0], _METHODS.index(op[1])))


def _operation(path: str, method: str, op: Mapping[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", str(op.get("summary", "")).rstrip(".") + "."]
    if op.get("description"):
        lines += ["", str(op["description"])]
    params = op.get("parameters", [])
    if params:
        lines += [
            "",
            "| parameter | in | type | required | allowed values, limits, meaning |",
            "|---|---|---|---|---|",
        ]
        for param in params:
            schema = param.get("schema", {})
            notes = _notes({**schema, "description": param.get("description", "")})
            lines.append(
                f"| `{param['name']}` | {param['in']} | {_cell(_type(schema))} | "
                f"{'yes' if param.get('required') else 'no'} | {_cell(notes)} |"
            )
    body = op.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            optional = "" if body.get("required") else " (optional)"
            lines += ["", f"Body{optional}: {_type(content.get('schema', {}))} as `{media}`."]
    lines += ["", "| status | answer |", "|---|---|"]
    for status, response in sorted(op.get("responses", {}).items()):
        content = response.get("content", {})
        answer = str(response.get("description", "")).strip()
        answer = _PLAIN.get(answer, answer)
        for media, item in content.items():
            if media != "application/problem+json" and item.get("schema"):
                answer += f" {_type(item['schema'])} as `{media}`."
        lines.append(f"| {status} | {_cell(answer)} |")
    return [*lines, ""]


def render(schema: Mapping[str, Any]) -> str:
    """The whole reference for ``schema`` (an OpenAPI document as a dict)."""
    operations = _operations(schema)
    out = [_INTRO.read_text(encoding="utf-8"), "## Operations", ""]
    out += ["| method and path | what |", "|---|---|"]
    for path, method, op in operations:
        title = f"{method.upper()} {path}"
        link = _anchor(f"{method}-{path}".replace("/", "").replace("{", "").replace("}", ""))
        out.append(f"| [`{title}`](#{link}) | {_cell(str(op.get('summary', '')))} |")
    out.append("")
    for path, method, op in operations:
        out += _operation(path, method, op)
    out += ["## Types", ""]
    schemas: Mapping[str, Any] = schema.get("components", {}).get("schemas", {})
    for name in sorted(schemas):
        out += [f"### {name}", ""]
        if schemas[name].get("description"):
            out += [str(schemas[name]["description"]), ""]
        out += [*_fields_table(schemas[name]), ""]
    out += [
        "## Error codes",
        "",
        "Every `code` a problem response can carry (see `reply_assist/errors.py`).",
        "",
        "| code | status | meaning |",
        "|---|---|---|",
    ]
    for code, (status, meaning) in sorted(ERROR_CODES.items(), key=lambda c: (c[1][0], c[0])):
        out.append(f"| `{code}` | {status} | {_cell(meaning)} |")
    return "\n".join(out).rstrip() + "\n"


def reference() -> str:
    """The reference of the app as configured with defaults (no server, no Redis needed)."""
    from reply_assist.app import create_app
    from reply_assist.settings import Settings

    app = create_app(Settings(admin_token="apidoc-" + "0" * 32, log_level="ERROR"))
    return render(app.openapi_schema.to_schema())


if __name__ == "__main__":
    sys.stdout.write(reference())
