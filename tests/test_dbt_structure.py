"""The shape of the dbt project, checked on its parsed manifest (``dbt parse``).

The rules are those of dbt-project-evaluator that matter here, written out because the
package hub cannot be reached from these machines:

* the graph flows one way: sources -> staging -> intermediate -> marts; the quality
  frames (models/quality) read marts, or sources where they profile what arrived;
* names say the layer: ``stg_<source>__<entity>s``, ``int_<entity>__<what>``,
  ``fct_``/``dim_`` marts, ``qa_<suite>`` frames (one documented exception);
* every model has a description and a primary-key test;
* the marts and frames are the public interface (``access: public``, enforced contract)
  and every exposure depends on public models only; the exposures name every model the
  dashboard, ``smhp impact`` and the quality gates read, and no reader reads ``raw`` or
  ``seeds``.

``test_report_the_counts`` prints the figures (run with ``-s`` to see them).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from smhp.pipeline.ingest import ensure_raw_schema
from smhp.pipeline.quality import load_suites

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "pipeline"

LAYERS = ("staging", "intermediate", "marts", "quality")
NAMING = {
    "staging": re.compile(r"stg_(?P<source>[a-z0-9]+(?:_[a-z0-9]+)*)__[a-z0-9_]+s"),
    "intermediate": re.compile(r"int_[a-z0-9_]+__[a-z0-9_]+"),
    "marts": re.compile(r"(fct|dim)_[a-z0-9_]+"),
    "quality": re.compile(r"qa_[a-z0-9_]+"),
}
NAMING_EXCEPTIONS = {
    "metrics_monthly": (
        "the published metric table: its name is the interface every reader, the docs and "
        "the spec use (marts.metrics_monthly); a rename would gain nothing"
    ),
}
MAY_READ = {
    "staging": {"source"},
    "intermediate": {"staging", "intermediate", "seed"},
    "marts": {"staging", "intermediate", "marts", "seed"},
    "quality": {"marts", "source"},
}
"""What a layer's models may depend on. A quality frame reads a source only to profile
what arrived (incoming_<source>), as it arrived, not as staged."""

READERS = {
    "smhp_dashboard": [REPO / "dashboard"],
    "smhp_impact": [REPO / "smhp" / "reporting"],
}
"""The code of each reader exposure, grepped for the tables it reads."""

_READS_MART = re.compile(r"\b(?:from|join)\s+marts\.([a-z_]+)\b", re.IGNORECASE)
"""A mart read in SQL (prose naming a mart is no read; nor is a mart named by a variable,
e.g. the fact tables of the metric catalogue, which the exposures list by hand)."""


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``dbt parse`` of the project into a temporary target: the manifest as JSON."""
    base = tmp_path_factory.mktemp("dbt_parse")
    env = dict(
        os.environ,
        SMHP_DBT_DATABASE=str(base / "parse.duckdb"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    dbt = Path(sys.executable).with_name("dbt")
    done = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(PIPELINE), "--profiles-dir", str(PIPELINE),
         "--target-path", str(base / "target"), "--log-path", str(base / "logs")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((base / "target" / "manifest.json").read_text(encoding="utf-8"))


def _models(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "smhp"
    }


def _layer(node: dict[str, Any]) -> str:
    folder = Path(node["original_file_path"]).parts[1]  # models/<layer>/...
    assert folder in LAYERS, f"{node['name']} is in no known layer: {folder}"
    return folder


def _kind(manifest: dict[str, Any], unique_id: str) -> str:
    """What a dependency is: a layer for a model, else its resource type."""
    if unique_id.startswith("model."):
        return _layer(manifest["nodes"][unique_id])
    return unique_id.split(".")[0]


def _tests_of(manifest: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    tests: dict[str, list[dict[str, Any]]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node"):
            tests.setdefault(node["attached_node"], []).append(node)
    return tests


def _has_primary_key_test(tests: list[dict[str, Any]]) -> bool:
    """The project's primary_key or unique_combination, or unique + not_null on one column."""
    by_column: dict[str, set[str]] = {}
    for test in tests:
        name = (test.get("test_metadata") or {}).get("name")
        if name in ("primary_key", "unique_combination"):
            return True
        if name in ("unique", "not_null") and test.get("column_name"):
            by_column.setdefault(test["column_name"], set()).add(name)
    return any(names == {"unique", "not_null"} for names in by_column.values())


def _unit_tested(manifest: dict[str, Any]) -> set[str]:
    return {
        node["depends_on"]["nodes"][0]
        for node in manifest.get("unit_tests", {}).values()
        if node["depends_on"]["nodes"]
    }


def _exposures(manifest: dict[str, Any]) -> dict[str, set[str]]:
    """Exposure name -> names of the models it depends on."""
    return {
        exposure["name"]: {
            manifest["nodes"][uid]["name"] for uid in exposure["depends_on"]["nodes"]
        }
        for exposure in manifest["exposures"].values()
    }


def _violations(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Every broken rule, by rule: what the tests assert empty and the report counts."""
    models = _models(manifest)
    tests = _tests_of(manifest)
    found: dict[str, list[str]] = {
        "wrong direction": [],
        "naming": [],
        "no description": [],
        "no primary-key test": [],
        "exposure on a non-public model": [],
        "public without an enforced contract": [],
        "staging or intermediate not private": [],
    }
    for name, node in models.items():
        layer = _layer(node)
        for parent in node["depends_on"]["nodes"]:
            if _kind(manifest, parent) not in MAY_READ[layer]:
                found["wrong direction"].append(f"{name} ({layer}) reads {parent}")
        match = NAMING[layer].fullmatch(name)
        if name not in NAMING_EXCEPTIONS and not match:
            found["naming"].append(f"{name} ({layer})")
        if layer == "staging" and match:
            systems = {manifest["sources"][p]["source_name"] for p in node["depends_on"]["nodes"]}
            if systems != {match["source"]}:
                found["naming"].append(f"{name} reads the sources {sorted(systems)}")
        if not node["description"].strip():
            found["no description"].append(name)
        if not _has_primary_key_test(tests.get(node["unique_id"], [])):
            found["no primary-key test"].append(name)
        access = node["access"]
        if access == "public" and not node["contract"]["enforced"]:
            found["public without an enforced contract"].append(name)
        if layer in ("staging", "intermediate") and access != "private":
            found["staging or intermediate not private"].append(f"{name} ({access})")
    for exposure in manifest["exposures"].values():
        for uid in exposure["depends_on"]["nodes"]:
            node = manifest["nodes"][uid]
            if node["resource_type"] != "model" or node["access"] != "public":
                found["exposure on a non-public model"].append(f"{exposure['name']}: {uid}")
    return found


def _coverage(manifest: dict[str, Any]) -> dict[str, float]:
    """Per layer, the share of models with at least one data test or unit test."""
    tested = set(_tests_of(manifest)) | _unit_tested(manifest)
    total, covered = Counter[str](), Counter[str]()
    for node in _models(manifest).values():
        layer = _layer(node)
        total[layer] += 1
        covered[layer] += node["unique_id"] in tested
    return {layer: 100.0 * covered[layer] / total[layer] for layer in total}


# --- the rules --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "wrong direction",
        "naming",
        "no description",
        "no primary-key test",
        "exposure on a non-public model",
        "public without an enforced contract",
        "staging or intermediate not private",
    ],
)
def test_rule_holds(manifest: dict[str, Any], rule: str) -> None:
    assert _violations(manifest)[rule] == []


def test_every_intermediate_model_is_tested(manifest: dict[str, Any]) -> None:
    assert _coverage(manifest)["intermediate"] == 100.0


def test_the_exposures_name_every_table_their_readers_read(manifest: dict[str, Any]) -> None:
    exposures = _exposures(manifest)
    for exposure, folders in READERS.items():
        read = {
            table
            for folder in folders
            for path in folder.rglob("*.py")
            for table in _READS_MART.findall(path.read_text(encoding="utf-8"))
        }
        assert read, f"no read of a mart found in {folders}"
        assert read <= exposures[exposure], (
            f"{exposure} misses {sorted(read - exposures[exposure])}"
        )


def test_no_reader_reads_raw_or_seeds() -> None:
    reads = re.compile(r"\b(?:from|join)\s+(?:raw|seeds)\.[a-z_]+", re.IGNORECASE)
    found = [
        f"{path.relative_to(REPO)}: {hit}"
        for folders in READERS.values()
        for folder in folders
        for path in folder.rglob("*.py")
        for hit in reads.findall(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_the_quality_exposure_names_every_frame_the_suites_read(manifest: dict[str, Any]) -> None:
    frames = {suite.table.split(".")[1] for suite in load_suites() if suite.table}
    assert len(frames) == len(load_suites())  # every shipped suite reads a dbt table
    assert frames == _exposures(manifest)["smhp_quality_gates"]
    qa = {name for name, node in _models(manifest).items() if _layer(node) == "quality"}
    assert qa <= frames  # no frame that no suite reads


def test_the_ingest_sources_match_the_tables_the_ingest_creates() -> None:
    """The columns of raw.load_log and raw.quarantine are written twice, the ingest's DDL
    and the dbt sources yml: this keeps the two the same."""
    doc = yaml.safe_load(
        (PIPELINE / "models" / "staging" / "ingest" / "_ingest__sources.yml").read_text()
    )
    declared = {
        table["name"]: [(c["name"], c["data_type"].upper()) for c in table["columns"]]
        for source in doc["sources"]
        for table in source["tables"]
    }
    con = duckdb.connect()
    try:
        ensure_raw_schema(con)
        created = {
            table: con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = 'raw' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            for table in declared
        }
    finally:
        con.close()
    assert created == declared


def test_report_the_counts(manifest: dict[str, Any]) -> None:
    """The figures the evaluator rules give (all rules hold when every count is 0)."""
    models = _models(manifest)
    layers = Counter(_layer(node) for node in models.values())
    violations = _violations(manifest)
    coverage = _coverage(manifest)
    exposures = _exposures(manifest)
    print()
    print(f"models: {len(models)} ({', '.join(f'{n} {k}' for k, n in sorted(layers.items()))})")
    for rule, hits in violations.items():
        print(f"{rule}: {len(hits)}")
    print(f"naming exceptions (documented): {', '.join(NAMING_EXCEPTIONS)}")
    for layer, share in sorted(coverage.items()):
        print(f"test coverage {layer}: {share:.0f} %")
    for name, deps in sorted(exposures.items()):
        print(f"exposure {name}: {len(deps)} models")
    assert sum(len(hits) for hits in violations.values()) == 0
