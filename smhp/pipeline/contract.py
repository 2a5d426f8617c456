"""The nightly extract contract, read from the dbt source definitions.

The contract (../shared/spec/extracts.md) is kept machine-readable in exactly one place:
the ``meta.contract`` of each column in ``pipeline/models/staging/*/_*__sources.yml``.
The ingest validates against it and dbt documents and tests the raw tables from it, so
the two can never drift apart.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from smhp.settings import PIPELINE_DIR, SEEDS_DIR

#: Columns the ingest adds to every raw table; they are not delivered.
METADATA_COLUMNS = ("_file_id", "_extract_date", "_row_number", "_loaded_at")

#: Seeds that hold code lists, and their code column.
_SEED_CODE_COLUMNS = {
    "institutions": "institution_code",
    "services": "service_code",
    "referral_sources": "referral_source",
}


@dataclass(frozen=True)
class ColumnRule:
    """One delivered column and the rules its values must satisfy."""

    name: str  # the raw table column
    delivered_as: str  # the CSV header name
    type: str  # text | code | date | timestamp | integer | nhs_number
    required: bool = True
    values: frozenset[str] = frozenset()
    not_before: str | None = None  # a delivered column name
    required_when: dict | None = None  # {column, equals} or {column, is_set}
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class SourceContract:
    """One landing source: its raw table, its delivered columns and its record id."""

    name: str  # landing folder, file prefix and raw table name
    system: str  # dbt source name
    columns: tuple[ColumnRule, ...]
    record_id: tuple[str, ...]  # raw column names
    raw_columns: tuple[tuple[str, str], ...] = field(default=())  # (name, data_type)
    warn_after_days: int | None = None  # freshness: dbt's warn_after, in days

    @property
    def delivered_columns(self) -> tuple[str, ...]:
        return tuple(c.delivered_as for c in self.columns)

    def column_for(self, raw_name: str) -> ColumnRule:
        """The rule of the delivered column stored as ``raw_name``."""
        return next(c for c in self.columns if c.name == raw_name)


def _seed_codes(seed: str) -> frozenset[str]:
    with (SEEDS_DIR / f"{seed}.csv").open(newline="", encoding="utf-8") as fh:
        return frozenset(row[_SEED_CODE_COLUMNS[seed]] for row in csv.DictReader(fh))


def _column_rule(col: dict) -> ColumnRule:
    spec = dict(col["meta"]["contract"])
    values = spec.pop("values", None)
    seed = spec.pop("values_from", None)
    codes = frozenset(values) if values else _seed_codes(seed) if seed else frozenset()
    if any(not isinstance(code, str) for code in codes):  # YAML reads 21_24 as a number
        raise ValueError(
            f"Contract codes of {col['name']} must be quoted strings: {sorted(map(str, codes))}"
        )
    return ColumnRule(
        name=col["name"],
        delivered_as=spec.pop("delivered_as", col["name"]),
        values=codes,
        **spec,
    )


def _warn_after_days(table: dict, source: dict) -> int | None:
    """The freshness threshold of dbt's ``warn_after`` (table over source), in whole days."""
    for level in (table, source):
        warn = level.get("config", {}).get("freshness", {}).get("warn_after")
        if warn:
            hours = {"minute": 1 / 60, "hour": 1, "day": 24}[warn["period"]] * warn["count"]
            return max(1, round(hours / 24))
    return None


@cache
def load_contract(pipeline_dir: Path = PIPELINE_DIR) -> dict[str, SourceContract]:
    """Every source of the contract, by landing folder name."""
    contracts: dict[str, SourceContract] = {}
    for path in sorted(pipeline_dir.glob("models/staging/*/_*__sources.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for source in doc["sources"]:
            for table in source["tables"]:
                if "contract" not in table.get("meta", {}):
                    continue  # not a delivered extract (e.g. the ingest's own load log)
                cols = table["columns"]
                rules = tuple(_column_rule(c) for c in cols if "contract" in c.get("meta", {}))
                contracts[table["name"]] = SourceContract(
                    name=table["name"],
                    system=source["name"],
                    columns=rules,
                    record_id=tuple(table["meta"]["contract"]["record_id"]),
                    raw_columns=tuple((c["name"], c["data_type"]) for c in cols),
                    warn_after_days=_warn_after_days(table, source),
                )
    if not contracts:
        raise RuntimeError(f"No extract contract found under {pipeline_dir}/models/staging")
    return contracts
