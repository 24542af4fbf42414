"""The versioned results contract: JSON Schemas (draft 2020-12) shipped in ``mmbench/schemas/`` for a cell's
result (``cell-result``: a JSONL line or CSV row of ``mmbench export``), a JSON export (``export``) and a
leaderboard (``leaderboard``: ``mmbench leaderboard --format json``). Every exported file carries
:data:`SCHEMA_VERSION`; ``mmbench validate FILE`` checks a file with :func:`validate_file`. See ``docs/schema.md``.

>>> first_violation({"schema": "export", "schema_version": SCHEMA_VERSION, "rows": []}) is None
True
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

#: ``major.minor`` of the shipped schemas: a minor version only adds optional fields, a major one breaks readers
SCHEMA_VERSION = "1.0"
#: the shipped schemas, by the name a document gives in its ``schema`` field
SCHEMAS = ("cell-result", "export", "leaderboard")


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema called ``name`` (one of :data:`SCHEMAS`)."""
    if name not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r}; choose one of {', '.join(SCHEMAS)}")
    return json.loads((files("mmbench") / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    registry = Registry().with_resources((schema(n)["$id"], Resource.from_contents(schema(n))) for n in SCHEMAS)
    return Draft202012Validator(schema(name), registry=registry)


def _where(path: Any) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(document)"


def first_violation(doc: Any, name: str | None = None) -> str | None:
    """The first place ``doc`` breaks its schema (``name``, default the document's own ``schema`` field) as
    ``"<path>: <message>"``, or ``None`` when it conforms."""
    if name is None:
        name = doc.get("schema") if isinstance(doc, dict) else None
        if name not in SCHEMAS:
            return f"schema: {name!r} names no mmbench schema (one of {', '.join(SCHEMAS)})"
    error = next(iter(_validator(name).iter_errors(doc)), None)
    if error is None:
        return None
    # the innermost error of the first failing branch names the field at fault
    while error.context:
        error = min(error.context, key=lambda e: len(e.absolute_path))
    return f"{_where(error.absolute_path)}: {error.message}"


def validate_file(path: str | Path) -> tuple[str, str | None]:
    """Check a ``.json`` file (its ``schema`` field picks the schema) or a ``.jsonl`` file (a cell result per
    line); returns ``(schema name, first violation or None)``."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                return "cell-result", f"line {number}: not JSON ({exc})"
            problem = first_violation(row, "cell-result")
            if problem:
                return "cell-result", f"line {number}: {problem}"
        return "cell-result", None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return "?", f"not JSON ({exc})"
    name = doc.get("schema") if isinstance(doc, dict) else None
    return (name if name in SCHEMAS else "?"), first_violation(doc)
