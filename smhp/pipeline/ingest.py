"""Loading new extract files into the raw layer of a candidate warehouse.

Every file found is either unchanged since it was last seen (nothing to do), a re-send
(same bytes: logged and skipped), rejected whole (logged with the reason), or read row by
row: each row is loaded into ``raw.<source>`` or quarantined in ``raw.quarantine`` with a
reason per broken rule, so that rows read = rows loaded + rows quarantined for every file.
A corrected re-delivery (same name, new bytes) first removes what its earlier version
loaded. Student identifiers are pseudonymised here, before anything is written.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from smhp.pipeline.contract import METADATA_COLUMNS, SourceContract, load_contract
from smhp.pipeline.landing import LandedFile, scan_landing
from smhp.pipeline.pseudonymise import student_key
from smhp.pipeline.validate import Problem, check_row, normalise_student_ref

LOADED, REPLACED, SKIPPED, REJECTED = "loaded", "replaced", "skipped", "rejected"

_RAW_DDL = """
create schema if not exists raw;
create table if not exists raw.load_log (
    file_id bigint primary key, run_id varchar not null, processed_at timestamp not null,
    path varchar not null, source varchar, size_bytes bigint, sha256 varchar,
    mtime_ns bigint, extract_date date, rows_read integer, rows_loaded integer,
    rows_quarantined integer, status varchar not null, reason varchar,
    dropped_columns varchar, replaces_file_id bigint
);
create table if not exists raw.quarantine (
    file_id bigint not null, path varchar not null, source varchar not null,
    row_number integer not null, record_id varchar, column_name varchar not null,
    value_class varchar not null, rule varchar not null, reason varchar not null
);
"""


class FileRejected(Exception):
    """The whole file breaks the contract; the message is the reason a provider can act on."""


@dataclass
class FileOutcome:
    """One row of the load log."""

    file_id: int
    path: str
    source: str | None
    size_bytes: int | None
    sha256: str | None
    mtime_ns: int | None
    extract_date: date | None
    status: str
    reason: str | None = None
    rows_read: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    dropped_columns: str | None = None
    replaces_file_id: int | None = None


@dataclass
class IngestReport:
    files: list[FileOutcome] = field(default_factory=list)
    unchanged: int = 0  # files already processed and not touched since

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded or 0 for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined or 0 for f in self.files)


@dataclass
class _ParsedFile:
    rows_read: int
    valid: list[tuple[int, dict[str, str]]]  # (row number, row)
    problems: dict[int, list[Problem]]  # row number -> problems
    record_ids: dict[int, str | None]  # row number -> record id shown in quarantine
    dropped_columns: list[str]


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw layer (load log, quarantine, one table per source) if missing."""
    con.execute(_RAW_DDL)
    for contract in load_contract().values():
        cols = ", ".join(f'"{name}" {dtype}' for name, dtype in contract.raw_columns)
        con.execute(f"create table if not exists raw.{contract.name} ({cols})")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not UTF-8 (first bad byte at offset {exc.start})") from None


def _read_header(header: list[str], contract: SourceContract) -> list[str]:
    """The dropped (out-of-contract) columns; rejects a file missing contract columns."""
    repeated = sorted(name for name, n in Counter(header).items() if n > 1)
    if repeated:
        raise FileRejected("header repeats column(s): " + ", ".join(repeated))
    missing = [c for c in contract.delivered_columns if c not in header]
    if missing:
        raise FileRejected("missing contract column(s): " + ", ".join(missing))
    return [name for name in header if name not in contract.delivered_columns]


def _record_id(contract: SourceContract, row: dict[str, str]) -> tuple[str, ...] | None:
    """The row's record id as delivered (None if any part is empty)."""
    parts = []
    for name in contract.record_id:
        rule = contract.column_for(name)
        value = row.get(rule.delivered_as, "")
        if rule.type == "nhs_number":
            value = normalise_student_ref(value)
        if value == "":
            return None
        parts.append(value)
    return tuple(parts)


def _shown_id(contract: SourceContract, rid: tuple[str, ...] | None) -> str | None:
    """The record id as it may be shown in quarantine: never one holding a student_ref."""
    if rid is None or any(contract.column_for(n).type == "nhs_number" for n in contract.record_id):
        return None
    return "|".join(rid)


def parse_extract(data: bytes, contract: SourceContract, extract_date: date) -> _ParsedFile:
    """Check one file's bytes against the contract, row by row."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise FileRejected("empty file: no header row")
        dropped = _read_header(header, contract)
        parsed = _ParsedFile(0, [], {}, {}, dropped)
        ids: dict[int, tuple[str, ...] | None] = {}
        row_number = 1
        for fields in reader:
            if not fields:  # a blank line is not a row
                continue
            row_number += 1
            parsed.rows_read += 1
            if len(fields) != len(header):
                parsed.problems[row_number] = [
                    Problem(
                        "(row)", f"{len(fields)} fields", f"{len(header)} fields as in the header"
                    )
                ]
                ids[row_number] = None
                continue
            row = dict(zip(header, fields, strict=True))
            ids[row_number] = _record_id(contract, row)
            problems = check_row(contract, row, extract_date)
            if problems:
                parsed.problems[row_number] = problems
            else:
                parsed.valid.append((row_number, row))
    except csv.Error as exc:
        raise FileRejected(f"not readable as CSV at line {reader.line_num}: {exc}") from None
    _quarantine_repeated_ids(parsed, contract, ids)
    parsed.record_ids = {n: _shown_id(contract, rid) for n, rid in ids.items()}
    return parsed


def _quarantine_repeated_ids(
    parsed: _ParsedFile, contract: SourceContract, ids: dict[int, tuple[str, ...] | None]
) -> None:
    """Every row of an id that repeats within the file goes to quarantine."""
    counts = Counter(rid for rid in ids.values() if rid is not None)
    repeated = {rid for rid, n in counts.items() if n > 1}
    if not repeated:
        return
    id_columns = "+".join(contract.column_for(name).delivered_as for name in contract.record_id)
    problem = Problem(
        id_columns, "record id repeated in this file", "at most one row per record id"
    )
    for number, rid in ids.items():
        if rid in repeated:
            parsed.problems.setdefault(number, []).append(problem)
    parsed.valid = [(n, row) for n, row in parsed.valid if ids[n] not in repeated]


class Ingest:
    """One ingest run against an open candidate warehouse."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: bytes, run_id: str, now: datetime):
        self.con = con
        self.key = key
        self.run_id = run_id
        self.now = now
        self.contracts = load_contract()
        self.next_file_id = con.execute(
            "select coalesce(max(file_id), 0) + 1 from raw.load_log"
        ).fetchone()[0]
        self.raw_rows: dict[str, list[tuple]] = defaultdict(list)
        self.quarantine_rows: list[tuple] = []
        self.report = IngestReport()

    def history(self) -> dict[str, dict]:
        """Per path: the last time it was seen, its current bytes, its contributing version."""
        rows = self.con.execute(
            "select path, file_id, status, size_bytes, mtime_ns, sha256"
            " from raw.load_log order by file_id"
        ).fetchall()
        seen: dict[str, dict] = {}
        for path, file_id, status, size, mtime_ns, sha in rows:
            entry = seen.setdefault(path, {})
            entry["last_seen"] = (size, mtime_ns)
            if status != SKIPPED:
                entry["sha256"] = sha
            if status in (LOADED, REPLACED):
                entry["contributing"] = file_id
        return seen

    def run(self, landing: Path, today: date) -> IngestReport:
        history = self.history()
        for landed in scan_landing(landing, set(self.contracts), today):
            self._process(landed, history.get(landed.relative, {}))
        self._write()
        return self.report

    def _process(self, landed: LandedFile, past: dict) -> None:
        try:
            stat = landed.path.stat()
            fingerprint = (stat.st_size, stat.st_mtime_ns)
            if past.get("last_seen") == fingerprint:
                self.report.unchanged += 1
                return
            data = landed.path.read_bytes()
        except OSError as exc:
            self._log(landed, None, None, None, REJECTED, f"cannot be read: {exc.strerror}")
            return
        sha = hashlib.sha256(data).hexdigest()
        if past.get("sha256") == sha:
            self._log(
                landed,
                data,
                sha,
                fingerprint[1],
                SKIPPED,
                "re-send: same bytes as already processed",
            )
            return
        if landed.problem:
            self._log(landed, data, sha, fingerprint[1], REJECTED, landed.problem)
            return
        contract = self.contracts[landed.source]
        try:
            parsed = parse_extract(data, contract, landed.extract_date)
        except FileRejected as exc:
            reason = str(exc)
            if past.get("contributing"):
                reason += "; the earlier version of this file stays loaded"
            self._log(landed, data, sha, fingerprint[1], REJECTED, reason)
            return
        replaces = past.get("contributing")
        if replaces:
            self.con.execute(f"delete from raw.{contract.name} where _file_id = ?", [replaces])
        outcome = self._log(
            landed,
            data,
            sha,
            fingerprint[1],
            REPLACED if replaces else LOADED,
            "corrected re-delivery: replaces the earlier version" if replaces else None,
            rows_read=parsed.rows_read,
            rows_loaded=len(parsed.valid),
            rows_quarantined=len(parsed.problems),
            dropped_columns=", ".join(parsed.dropped_columns) or None,
            replaces_file_id=replaces,
        )
        if parsed.dropped_columns:
            outcome.reason = "; ".join(
                filter(
                    None,
                    [
                        outcome.reason,
                        "dropped columns outside the contract: " + outcome.dropped_columns,
                    ],
                )
            )
        self._stage_rows(contract, outcome, parsed)

    def _log(
        self,
        landed: LandedFile,
        data: bytes | None,
        sha: str | None,
        mtime_ns: int | None,
        status: str,
        reason: str | None,
        **counts: object,
    ) -> FileOutcome:
        outcome = FileOutcome(
            file_id=self.next_file_id,
            path=landed.relative,
            source=landed.source,
            size_bytes=len(data) if data is not None else None,
            sha256=sha,
            mtime_ns=mtime_ns,
            extract_date=landed.extract_date,
            status=status,
            reason=reason,
            **counts,  # type: ignore[arg-type]
        )
        self.next_file_id += 1
        self.report.files.append(outcome)
        return outcome

    def _stage_rows(
        self, contract: SourceContract, outcome: FileOutcome, parsed: _ParsedFile
    ) -> None:
        for number, row in parsed.valid:
            values = []
            for rule in contract.columns:
                value = row[rule.delivered_as]
                if rule.type == "nhs_number":
                    value = student_key(self.key, value)
                values.append(value if value != "" else None)
            self.raw_rows[contract.name].append(
                (outcome.file_id, outcome.extract_date, number, self.now, *values)
            )
        for number, problems in sorted(parsed.problems.items()):
            for p in problems:
                self.quarantine_rows.append(
                    (
                        outcome.file_id,
                        outcome.path,
                        contract.name,
                        number,
                        parsed.record_ids.get(number),
                        p.column,
                        p.value_class,
                        p.rule,
                        p.reason,
                    )
                )

    def _insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if not rows:
            return
        arrow = pa.table(
            {name: list(col) for name, col in zip(columns, zip(*rows, strict=True), strict=True)}
        )
        self.con.register("_incoming", arrow)
        try:
            self.con.execute(f"insert into {table} by name select * from _incoming")
        finally:
            self.con.unregister("_incoming")

    def _write(self) -> None:
        for name, rows in self.raw_rows.items():
            contract = self.contracts[name]
            columns = [*METADATA_COLUMNS, *(c.name for c in contract.columns)]
            self._insert(f"raw.{name}", columns, rows)
        self._insert(
            "raw.quarantine",
            [
                "file_id",
                "path",
                "source",
                "row_number",
                "record_id",
                "column_name",
                "value_class",
                "rule",
                "reason",
            ],
            self.quarantine_rows,
        )
        log_columns = [
            "file_id",
            "run_id",
            "processed_at",
            "path",
            "source",
            "size_bytes",
            "sha256",
            "mtime_ns",
            "extract_date",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "status",
            "reason",
            "dropped_columns",
            "replaces_file_id",
        ]
        self._insert(
            "raw.load_log",
            log_columns,
            [
                (
                    f.file_id,
                    self.run_id,
                    self.now,
                    f.path,
                    f.source,
                    f.size_bytes,
                    f.sha256,
                    f.mtime_ns,
                    f.extract_date,
                    f.rows_read,
                    f.rows_loaded,
                    f.rows_quarantined,
                    f.status,
                    f.reason,
                    f.dropped_columns,
                    f.replaces_file_id,
                )
                for f in self.report.files
            ],
        )


def ingest(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    key: bytes,
    run_id: str,
    now: datetime,
    today: date,
) -> IngestReport:
    """Load every new file under ``landing`` into the raw layer of ``con``'s database."""
    ensure_raw_schema(con)
    return Ingest(con, key, run_id, now).run(landing, today)
