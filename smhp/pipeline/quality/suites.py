"""Which suites there are, and the data frame each one validates.

A suite is ``<suite>.json`` in the expectations folder. Its frame is the table its
``meta.frame.table`` names (``quality.qa_<suite>``, built by dbt, or a fact table as it
is), or else the query of a ``<suite>.sql`` beside it (for a suite added by hand, e.g. in
a test). Loading checks what the gates rely on: a gate whose expectations lack a
severity or a reason, or whose frame is unknown, would be silently meaningless.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smhp.pipeline.quality.report import ROW_LABEL, safe_message
from smhp.settings import REPO_ROOT

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
"""The suites shipped with the code (the default of the setting SMHP_EXPECTATIONS_DIR)."""

SEVERITIES = ("error", "warning")

_TABLE = re.compile(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*")
"""``schema.table``: the only shape a suite's ``meta.frame.table`` may take."""


class QualityError(RuntimeError):
    """The suites cannot be run at all (a broken suite file, a frame that is not named)."""


@dataclass(frozen=True)
class Suite:
    """One suite file with the query of its frame, checked for what validation relies on."""

    name: str
    spec: dict[str, Any]
    sql: str
    table: str | None = None
    """The table the frame is (``meta.frame.table``); None for a ``<suite>.sql`` query."""

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.spec["expectations"]


def load_suites(expectations_dir: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every ``<suite>.json`` of the folder with the query of its frame, in name order.

    Raises :class:`QualityError` on anything that would make a gate silently meaningless:
    a suite without a frame, a name not matching its file, an expectation without
    ``meta.severity`` in (error, warning) or without ``meta.why``.
    """
    folder = Path(expectations_dir)
    if not folder.is_dir():
        raise QualityError(f"expectations folder {folder} does not exist")
    suites = []
    for path in sorted(folder.glob("*.json")):
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise QualityError(f"{path.name}: not a readable JSON suite: {exc}") from None
        table = _frame_table(path, spec)
        sql = f"select * from {table}" if table else _frame_query(path)
        if spec.get("name") != path.stem:
            raise QualityError(f"{path.name}: its name must be {path.stem!r}")
        expectations = spec.get("expectations")
        if not isinstance(expectations, list) or not expectations:
            raise QualityError(f"{path.name}: no expectations")
        for number, exp in enumerate(expectations, 1):
            if not isinstance(exp, dict):
                raise QualityError(f"{path.name}: expectation {number} is not an object")
            meta = exp.get("meta") or {}
            if meta.get("severity") not in SEVERITIES:
                raise QualityError(
                    f"{path.name}: expectation {number} needs meta.severity error or warning"
                )
            if not str(meta.get("why") or "").strip():
                raise QualityError(f"{path.name}: expectation {number} needs meta.why")
            if not isinstance(exp.get("type"), str) or not isinstance(exp.get("kwargs"), dict):
                raise QualityError(f"{path.name}: expectation {number} needs type and kwargs")
        suites.append(Suite(path.stem, spec, sql, table))
    return suites


def _frame_table(path: Path, spec: dict[str, Any]) -> str | None:
    """The table named by the suite's ``meta.frame.table`` (None without ``meta.frame``).

    The frames of the shipped suites are dbt models (``pipeline/models/quality``), built
    with the candidate and tested like any model; the suite only names the table.
    """
    frame = (spec.get("meta") or {}).get("frame")
    if frame is None:
        return None
    table = frame.get("table") if isinstance(frame, dict) else None
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise QualityError(f"{path.name}: meta.frame.table must name a table as schema.table")
    return table


def _frame_query(path: Path) -> str:
    """The query of ``<suite>.sql``: the frame of a suite that names no table."""
    sql_path = path.with_suffix(".sql")
    if not sql_path.is_file():
        raise QualityError(
            f"{path.name}: no meta.frame.table and no {sql_path.name} to build its frame"
        )
    return sql_path.read_text(encoding="utf-8")


def read_frames(database: Path, suites: Sequence[Suite]) -> dict[str, Any]:
    """Each suite's frame (or the reason it could not be read), from one read-only
    connection that is closed before GX runs, so the file is held as briefly as possible.

    A frame with a ``row_label`` column is indexed by it; a table's rows are also ordered
    by it (a table has no order of its own), so that results name failing rows in a
    stable order. A query's frame keeps the query's order.
    """
    import duckdb

    path = Path(os.path.realpath(database))
    if not path.is_file():
        raise QualityError(f"no database at {database}")
    frames: dict[str, Any] = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for suite in suites:
            try:
                frame = con.sql(suite.sql).df()
            except duckdb.Error as exc:
                frames[suite.name] = safe_message(exc)
                continue
            if ROW_LABEL in frame.columns:
                if suite.table is not None:
                    frame = frame.sort_values(ROW_LABEL, kind="stable")
                frame = frame.set_index(ROW_LABEL)
            frames[suite.name] = frame
    finally:
        con.close()
    return frames
