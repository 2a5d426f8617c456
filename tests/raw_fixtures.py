"""Hand-made raw layers for tests: the `raw` tables exactly as the ingest writes them.

The table layouts are read from the dbt source definitions
(``pipeline/models/staging/*/_*__sources.yml``: each table's ``columns`` with their
``data_type``, in order), so a fixture can never drift from the contract the ingest and
dbt share. Rows are given as dicts of contract columns (strings, as delivered and
validated); the metadata columns (``_file_id``, ``_extract_date``, ``_row_number``,
``_loaded_at``) get defaults unless given.

Usage::

    con = duckdb.connect(str(path))
    create_raw_tables(con)
    insert_rows(con, "referrals", [{"referral_id": "R1", ...}], extract_date="2024-03-05")
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import yaml

REPO = Path(__file__).resolve().parents[1]
SOURCES_DIR = REPO / "pipeline" / "models" / "staging"

METADATA_COLUMNS = ("_file_id", "_extract_date", "_row_number", "_loaded_at")

_file_ids = itertools.count(1)


def raw_table_columns(sources_dir: Path = SOURCES_DIR) -> dict[str, list[tuple[str, str]]]:
    """Each raw table's columns as (name, data_type), in order, from the sources yml."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for path in sorted(sources_dir.glob("*/_*__sources.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for source in doc.get("sources", []):
            for table in source.get("tables", []):
                tables[table["name"]] = [
                    (column["name"], column["data_type"]) for column in table["columns"]
                ]
    return tables


def create_raw_tables(
    con: duckdb.DuckDBPyConnection, sources_dir: Path = SOURCES_DIR
) -> dict[str, list[tuple[str, str]]]:
    """Create schema ``raw`` and every source table in it, empty. Returns the layouts."""
    tables = raw_table_columns(sources_dir)
    con.execute("create schema if not exists raw")
    for name, columns in tables.items():
        column_sql = ", ".join(f'"{column}" {data_type}' for column, data_type in columns)
        con.execute(f"create or replace table raw.{name} ({column_sql})")
    return tables


def insert_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    extract_date: str | dt.date = "2024-01-31",
    file_id: int | None = None,
    sources_dir: Path = SOURCES_DIR,
) -> int:
    """Insert rows into ``raw.<table>`` as one delivered file of ``extract_date``.

    Contract columns missing from a row are NULL (an empty field). Every row of one call
    shares a ``_file_id`` (a fresh one unless given) and is numbered from 2 (row 1 is the
    header), like the ingest. A row may override any metadata column. Returns the file id.
    """
    columns = [name for name, _ in raw_table_columns(sources_dir)[table]]
    file_id = next(_file_ids) if file_id is None else file_id
    loaded_at = dt.datetime(2024, 1, 1, 3, 0, 0)
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{column}"' for column in columns)
    for row_number, row in enumerate(rows, start=2):
        unknown = set(row) - set(columns)
        if unknown:
            raise KeyError(f"raw.{table} has no column(s) {sorted(unknown)}")
        values = {
            "_file_id": file_id,
            "_extract_date": str(extract_date),
            "_row_number": row_number,
            "_loaded_at": loaded_at,
            **row,
        }
        con.execute(
            f"insert into raw.{table} ({quoted}) values ({placeholders})",
            [values.get(column) for column in columns],
        )
    return file_id


def create_raw_database(
    path: Path, rows_by_table: Mapping[str, Iterable[Mapping[str, Any]]] | None = None
) -> Path:
    """A DuckDB file at ``path`` with every raw table, holding ``rows_by_table``.

    Each table's rows are inserted as one file of the default extract date; call
    :func:`insert_rows` directly for several deliveries.
    """
    con = duckdb.connect(str(path))
    try:
        create_raw_tables(con)
        for table, rows in (rows_by_table or {}).items():
            insert_rows(con, table, rows)
        con.execute("checkpoint")
    finally:
        con.close()
    return path
