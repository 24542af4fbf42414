"""The versioned results schema: exports and leaderboards carry ``schema_version`` and conform (checked with
``jsonschema``), ``mmbench validate`` names the first violation, and old run directories still load."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import jsonschema
import pandas as pd
from click.testing import CliRunner
from runs import full_grid, hostile_run  # type: ignore[import-not-found]

from mmbench.cli.main import cli
from mmbench.store.schema import SCHEMA_VERSION, SCHEMAS, first_violation, schema, validate_file


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_schemas_ship_in_the_package_and_are_valid_draft_2020_12() -> None:
    for name in SCHEMAS:
        doc = json.loads((files("mmbench") / "schemas" / f"{name}.schema.json").read_text())
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(doc)
        assert re.fullmatch(doc["properties"]["schema_version"]["pattern"], SCHEMA_VERSION)
        assert f"/{SCHEMA_VERSION.split('.')[0]}/" in doc["$id"]
        assert schema(name) == doc


def test_every_export_format_carries_the_schema_version_and_conforms(tmp_path: Path) -> None:
    run = full_grid(tmp_path / "run")
    for fmt in ("json", "jsonl", "csv", "parquet"):
        assert invoke("export", str(run), "--format", fmt, "-o", str(tmp_path / f"e.{fmt}")).exit_code == 0
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["schema"] == "export" and doc["schema_version"] == SCHEMA_VERSION and len(doc["rows"]) == 37
    jsonschema.validate(doc, schema("export"), cls=jsonschema.Draft202012Validator,
                        registry=_registry())
    for line in (tmp_path / "e.jsonl").read_text().splitlines():
        row = json.loads(line)
        assert row["schema_version"] == SCHEMA_VERSION
        jsonschema.Draft202012Validator(schema("cell-result")).validate(row)
    assert set(pd.read_csv(tmp_path / "e.csv")["schema_version"].astype(str)) == {SCHEMA_VERSION}
    assert set(pd.read_parquet(tmp_path / "e.parquet")["schema_version"]) == {SCHEMA_VERSION}
    failed = [r for r in doc["rows"] if r["status"] == "failed"]
    assert failed and failed[0]["error"].startswith("FloatingPointError")


def _registry():
    from referencing import Registry, Resource

    return Registry().with_resources((schema(n)["$id"], Resource.from_contents(schema(n))) for n in SCHEMAS)


def test_leaderboard_json_conforms(tmp_path: Path) -> None:
    for run in (full_grid(tmp_path / "run"), hostile_run(tmp_path / "hostile")):
        out = tmp_path / f"{run.name}.json"
        assert invoke("leaderboard", str(run), "--format", "json", "-o", str(out), "--no-plots").exit_code == 0
        doc = json.loads(out.read_text())
        assert doc["schema"] == "leaderboard" and doc["schema_version"] == SCHEMA_VERSION
        jsonschema.Draft202012Validator(schema("leaderboard")).validate(doc)
        result = invoke("validate", str(out))
        assert result.exit_code == 0 and "conforms to the leaderboard schema" in result.output


def test_validate_names_the_first_violation(tmp_path: Path) -> None:
    run = full_grid(tmp_path / "run")
    invoke("export", str(run), "--format", "json", "-o", str(tmp_path / "e.json"))
    invoke("export", str(run), "--format", "jsonl", "-o", str(tmp_path / "e.jsonl"))
    assert invoke("validate", str(tmp_path / "e.json")).exit_code == 0
    assert invoke("validate", str(tmp_path / "e.jsonl")).exit_code == 0
    doc = json.loads((tmp_path / "e.json").read_text())
    doc["rows"][3]["seed"] = "zero"
    doc["rows"][5]["status"] = "done"
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "bad.json")])
    assert result.exit_code == 1
    assert "rows[3].seed: 'zero' is not of type 'integer'" in result.output
    assert "rows[5]" not in result.output  # the first violation only
    lines = (tmp_path / "e.jsonl").read_text().splitlines()
    lines[2] = json.dumps({k: v for k, v in json.loads(lines[2]).items() if k != "schema_version"})
    (tmp_path / "bad.jsonl").write_text("\n".join(lines))
    assert validate_file(tmp_path / "bad.jsonl") == ("cell-result", "line 3: (document): 'schema_version' is a required property")
    assert "names no mmbench schema" in first_violation({"rows": []})


def test_old_run_directories_still_load_and_export(tmp_path: Path) -> None:
    """Rows stored before the newer keys (no ``chance``, ``converged``, ``architecture``, ``split_seed``)."""
    run = full_grid(tmp_path / "old")
    from mmbench.store import ResultStore

    with ResultStore(run, create=False) as store:
        row = next(store.rows("ok"))
        assert "converged" not in row.result and "architecture" not in row.config
    assert invoke("export", str(run), "--format", "json", "-o", str(tmp_path / "old.json")).exit_code == 0
    assert validate_file(tmp_path / "old.json") == ("export", None)


def test_a_real_run_exports_and_validates(write_grid, tmp_path: Path) -> None:
    """A tiny grid trained for real (every key a cell stores) conforms, as JSON, JSONL and through its leaderboard."""
    grid = write_grid(tmp_path / "g.yaml", weightings=["ew"], tasks=["redundant", "synergy"])
    assert invoke("run", "--grid", str(grid), "--out", str(tmp_path / "run"), "--quiet").exit_code == 0
    for fmt in ("json", "jsonl"):
        invoke("export", str(tmp_path / "run"), "--format", fmt, "-o", str(tmp_path / f"e.{fmt}"))
        assert validate_file(tmp_path / f"e.{fmt}")[1] is None
    invoke("leaderboard", str(tmp_path / "run"), "--format", "json", "-o", str(tmp_path / "b.json"), "--no-plots")
    assert validate_file(tmp_path / "b.json") == ("leaderboard", None)
