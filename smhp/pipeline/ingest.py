"""Loading new extract files into the raw layer of a candidate warehouse.

Every file found is either unchanged since it was last seen (nothing to do), a re-send
(same bytes: logged and skipped), rejected whole (logged with the reason), or read row by
row: each row is loaded into ``raw.<source>`` or quarantined in ``raw.quarantine`` with a
reason per broken rule, so that rows read = rows loaded + rows quarantined for every file.
A corrected re-delivery (same name, new bytes) first removes what its earlier version
loaded. Student identifiers are pseudonymised here, before anything is written.

Threads read, parse and check the files (``WORKERS``); the main thread logs each file and
writes each checked batch in the order of the landing scan, so a run's file ids, load log,
quarantine and raw rows are the same whatever thread did the work.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from smhp.pipeline.batch_checks import normalised_refs, proven_valid
from smhp.pipeline.contract import SourceContract, load_contract
from smhp.pipeline.landing import LandedFile, scan_landing
from smhp.pipeline.pseudonymise import Pseudonymiser
from smhp.pipeline.validate import Problem, check_row, normalise_student_ref

LOADED, REPLACED, SKIPPED, REJECTED = "loaded", "replaced", "skipped", "rejected"
#: Rows of one source checked together: the checks are per file, so any grouping of whole
#: files gives the same answer; a bound keeps the delivered text held in memory small, and
#: several batches let the threads check one while the next is read.
BATCH_ROWS = 200_000
#: Threads that read, parse and check files: one per core this process may use, up to 4.
#: Their work is in Arrow, numpy, hashlib and DuckDB, which release the GIL, so threads use
#: every core; each file is still logged, and each batch written, in the order of the
#: landing scan, whatever thread did the work.
WORKERS = min(4, len(os.sched_getaffinity(0)))
#: Files a thread reads in one go (a task per file costs more than a small file's read),
#: and groups read ahead of the file being logged: a bound on the bytes held at once.
READ_GROUP = 64
READ_AHEAD = 2 * WORKERS
#: A file of at least this many lines is split by Arrow where it can be (``_plain_rows``):
#: below it, the csv module costs less than Arrow's cost per call.
PLAIN_SPLIT_LINES = 64
#: Arrow's CSV block: most files are one chunk; a line longer than this is read by
#: Arrow's split instead (``_read_plain``).
_CSV_BLOCK = 1 << 24

_NO_ROWS = np.zeros(0, dtype=np.int64)

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
    """One readable file: its rows as columns, not yet checked."""

    rows_read: int
    row_numbers: np.ndarray  # of the rows with as many fields as the header
    columns: dict[str, tuple[str, ...] | pa.Array]  # delivered column -> values of those rows
    miscounted: list[tuple[int, int]]  # (row number, fields) of the rows without
    header_fields: int
    dropped_columns: list[str]
    split_by_arrow: bool = False  # columns are Arrow arrays (``_plain_rows``), not tuples


#: Raw columns stored without compression: a keyed hash is random text, so compressing
#: it was a fifth of the national ingest's CPU (DuckDB's dictionary + FSST over 2.4
#: million 64-character keys), for a warehouse 18 % smaller (docs/operations.md, "Scale").
_STORED_UNCOMPRESSED = ("student_key",)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw layer (load log, quarantine, one table per source) if missing."""
    con.execute(_RAW_DDL)
    for contract in load_contract().values():
        cols = ", ".join(
            f'"{name}" {dtype}'
            + (" using compression uncompressed" if name in _STORED_UNCOMPRESSED else "")
            for name, dtype in contract.raw_columns
        )
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
    delivered = contract.delivered_columns
    missing = [c for c in delivered if c not in header]
    if missing:
        raise FileRejected("missing contract column(s): " + ", ".join(missing))
    return [name for name in header if name not in delivered]


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


def parse_extract(data: bytes, contract: SourceContract) -> _ParsedFile:
    """Read one file's bytes into columns; rejects a file that breaks the contract whole.

    The rows are checked later, with every other file of the run from the same source
    (``_check_source``): checking whole columns is what makes the ingest fast.
    """
    text = _decode(data)
    if _is_long_and_plain(text):
        end = text.find("\n")
        header_line = (text if end < 0 else text[:end]).removesuffix("\r")
        # For the csv module a blank first line is an empty header, and a field of its
        # size limit or more makes the file unreadable: both are left to it.
        if 0 < len(header_line) < csv.field_size_limit():
            header = header_line.split(",")
            parsed = _header_only(header, contract)
            if _plain_rows(data, text, header, contract, parsed):
                return parsed
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise FileRejected("empty file: no header row")
        parsed = _header_only(header, contract)
        rows: list[list[str]] = []
        numbers: list[int] = []
        row_number = 1
        for fields in reader:
            if not fields:  # a blank line is not a row
                continue
            row_number += 1
            if len(fields) == len(header):
                rows.append(fields)
                numbers.append(row_number)
            else:
                parsed.miscounted.append((row_number, len(fields)))
    except csv.Error as exc:
        raise FileRejected(f"not readable as CSV at line {reader.line_num}: {exc}") from None
    parsed.rows_read = row_number - 1
    parsed.row_numbers = np.array(numbers, dtype=np.int64)
    by_column = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    parsed.columns = {name: by_column[header.index(name)] for name in contract.delivered_columns}
    return parsed


def _header_only(header: list[str], contract: SourceContract) -> _ParsedFile:
    """A file's parse as far as its header (checked against the contract): no rows yet."""
    return _ParsedFile(0, _NO_ROWS, {}, [], len(header), _read_header(header, contract))


def _is_long_and_plain(text: str) -> bool:
    """A file of at least ``PLAIN_SPLIT_LINES`` lines with no quote, no NUL and no CR but
    in CRLF: for it the csv module's reading is exactly this: a record is a line, a field
    the text between commas, a blank line no record (``_plain_rows``)."""
    lines = PLAIN_SPLIT_LINES
    if text.count("\n", 0, 1 << 14) < lines and text.count("\n", 0, 1 << 20) < lines:
        return False  # (most files have enough lines in their first 16 KiB)
    if '"' in text or "\x00" in text:
        return False
    return "\r" not in text or text.count("\r") == text.count("\r\n")


def _plain_rows(
    data: bytes, text: str, header: list[str], contract: SourceContract, parsed: _ParsedFile
) -> bool:
    """Split the rows of a long plain file (``_is_long_and_plain``) with Arrow into
    ``parsed``; False (``parsed`` untouched) when a field reaches the csv module's size
    limit: the csv module reads that file (and rejects it)."""
    rows = _read_plain(data, header) or _split_plain(text, header)
    if len(text) >= csv.field_size_limit() and any(
        len(values) and pc.max(pc.utf8_length(values)).as_py() >= csv.field_size_limit()
        for values in rows.columns.values()
    ):
        return False
    parsed.rows_read = rows.read
    parsed.row_numbers = rows.numbers
    parsed.miscounted = rows.miscounted
    parsed.columns = {name: rows.columns[name] for name in contract.delivered_columns}
    parsed.split_by_arrow = True
    return True


@dataclass
class _PlainRows:
    """A plain file's rows as Arrow columns, every header column."""

    read: int
    numbers: np.ndarray  # of the rows with as many fields as the header
    miscounted: list[tuple[int, int]]  # (row number, fields) of the others
    columns: dict[str, pa.Array]


def _read_plain(data: bytes, header: list[str]) -> _PlainRows | None:
    """A plain file whose every row has the header's fields, read by Arrow's CSV reader
    with quoting off, every value text and none null: the common case, at the cost of
    parsing the bytes once. None for any other (a row of another length, a line longer
    than a block), which ``_split_plain`` reads."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                column_names=header, skip_rows=1, use_threads=False, block_size=_CSV_BLOCK
            ),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        return None
    return _PlainRows(
        table.num_rows,
        np.arange(2, table.num_rows + 2),
        [],
        {name: _one_array(table.column(name)) for name in header},
    )


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array: its only chunk as it is (most files), else the chunks
    copied into one."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _split_plain(text: str, header: list[str]) -> _PlainRows:
    """A plain file split line by line and at every comma with Arrow compute, rows of
    another length than the header's kept aside with their numbers (to quarantine)."""
    text = text.replace("\r\n", "\n")
    first_newline = text.find("\n")
    lines = pa.array(text[first_newline + 1 :].split("\n"), pa.string())
    lines = lines.filter(pc.not_equal(lines, ""))  # a blank line is not a row
    fields = pc.split_pattern(lines, ",")
    counts = pc.list_value_length(fields).to_numpy(zero_copy_only=False)
    flat = pc.list_flatten(fields)
    numbers = np.arange(2, len(lines) + 2)
    full = counts == len(header)
    if not full.all():
        flat = pc.list_flatten(fields.filter(pa.array(full)))
    rows = int(full.sum())
    # Row-major fields to column-major with one take; each column is then a slice.
    order = np.arange(len(header))[:, None] + (np.arange(rows) * len(header))[None, :]
    by_column = flat.take(pa.array(order.ravel()))
    return _PlainRows(
        len(lines),
        numbers[full],
        list(zip(numbers[~full].tolist(), counts[~full].tolist(), strict=True)),
        {name: by_column.slice(position * rows, rows) for position, name in enumerate(header)},
    )


def _row(contract: SourceContract, columns: dict[str, pa.Array], index: int) -> dict[str, str]:
    """One row of a batch as ``validate.check_row`` takes it."""
    return {name: columns[name][index].as_py() for name in contract.delivered_columns}


def _quarantine(
    contract: SourceContract,
    outcome: FileOutcome,
    parsed: _ParsedFile,
    columns: dict[str, pa.Array],
    problems: dict[int, list[Problem]],
    first: int,
    indices: list[int],
) -> list[tuple]:
    """One file's ``raw.quarantine`` rows, in row order; their count in its load-log row.
    ``first``: the batch index of the file's first row; ``indices``: the batch indices of
    its rows with a problem."""
    found: dict[int, tuple[str | None, list[Problem]]] = {}
    for number, fields in parsed.miscounted:
        wrong = Problem(
            "(row)", f"{fields} fields", f"{parsed.header_fields} fields as in the header"
        )
        found[number] = (None, [wrong])
    for index in indices:
        rid = _record_id(contract, _row(contract, columns, index))
        found[int(parsed.row_numbers[index - first])] = (_shown_id(contract, rid), problems[index])
    outcome.rows_quarantined = len(found)
    return [
        (
            outcome.file_id,
            outcome.path,
            contract.name,
            number,
            record_id,
            p.column,
            p.value_class,
            p.rule,
            p.reason,
        )
        for number, (record_id, row_problems) in sorted(found.items())
        for p in row_problems
    ]


def _repeated_ids(
    contract: SourceContract, columns: dict[str, pa.Array], file_index: np.ndarray
) -> np.ndarray:
    """Per row: its record id (as ``_record_id``: student refs normalised, no empty part)
    is held by another row of the same file."""
    if len(file_index) == 0:
        return np.zeros(0, dtype=bool)
    parts: list[pa.Array] = [pc.cast(pa.array(file_index), pa.string())]
    has_id = np.ones(len(file_index), dtype=bool)
    for position, name in enumerate(contract.record_id):
        rule = contract.column_for(name)
        values = columns[rule.delivered_as]
        if rule.type == "nhs_number":
            values = normalised_refs(values)
        has_id &= pc.not_equal(values, "").to_numpy(zero_copy_only=False)
        if position < len(contract.record_id) - 1:
            # A part's length before it: no two different ids join to the same text.
            parts.append(pc.cast(pc.utf8_length(values), pa.string()))
        parts.append(values)
    key = pc.binary_join_element_wise(*parts, "\x00")
    codes = pc.dictionary_encode(key).indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(codes[has_id], minlength=codes.max() + 1)
    return has_id & (counts[codes] > 1)


@dataclass
class _Read:
    """One landed file as a worker thread read it: what its load-log row will say. No
    status: unchanged since it was last seen (nothing to log); a ``parsed`` file: its rows
    are to be checked."""

    status: str | None
    reason: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    mtime_ns: int | None = None
    parsed: _ParsedFile | None = None


@dataclass
class _Checked:
    """One checked batch of a source: its valid rows for ``raw.<source>`` and its
    ``raw.quarantine`` rows."""

    source: str
    table: pa.Table
    quarantine: list[tuple]


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def _in_order(
    pool: ThreadPoolExecutor,
    work: Callable[[_Item], _Result],
    items: Iterable[_Item],
    ahead: int,
) -> Iterator[_Result]:
    """``work(item)`` for each item, done by ``pool`` up to ``ahead`` items in advance and
    yielded in the items' order."""
    items = iter(items)
    running = deque(pool.submit(work, item) for item in islice(items, ahead))
    while running:
        result = running.popleft().result()
        running.extend(pool.submit(work, item) for item in islice(items, 1))
        yield result


class Ingest:
    """One ingest run against an open candidate warehouse."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: bytes, run_id: str, now: datetime):
        self.con = con
        self.run_id = run_id
        self.now = now
        self.contracts = load_contract()
        self.next_file_id = con.execute(
            "select coalesce(max(file_id), 0) + 1 from raw.load_log"
        ).fetchone()[0]
        self.pending: dict[str, list[tuple[FileOutcome, _ParsedFile]]] = defaultdict(list)
        self.pending_rows: Counter[str] = Counter()
        self.checks: deque[Future[_Checked]] = deque()
        self.quarantine_rows: list[tuple] = []
        self.report = IngestReport()
        self.pseudonymise = Pseudonymiser(key)

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
        landed = [
            (file, history.get(file.relative, {}))
            for file in scan_landing(landing, set(self.contracts), today)
        ]
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="smhp-ingest")
        try:
            groups = [landed[i : i + READ_GROUP] for i in range(0, len(landed), READ_GROUP)]
            reads = chain.from_iterable(
                _in_order(
                    pool,
                    lambda group: [self._read(file, past) for file, past in group],
                    groups,
                    READ_AHEAD,
                )
            )
            for (file, past), read in zip(landed, reads, strict=True):
                self._record(pool, file, past, read)
                self._write_checked(wait=False)
            for source, files in self.pending.items():
                if files:
                    self._submit_check(pool, self.contracts[source], files)
            self._write_checked(wait=True)
        finally:
            pool.shutdown(cancel_futures=True)
        self._write()
        return self.report

    def _read(self, landed: LandedFile, past: dict) -> _Read:
        """Read, fingerprint and parse one file (in a worker thread: touches nothing)."""
        try:
            stat = landed.path.stat()
            if past.get("last_seen") == (stat.st_size, stat.st_mtime_ns):
                return _Read(None)
            data = landed.path.read_bytes()
        except OSError as exc:
            return _Read(REJECTED, f"cannot be read: {exc.strerror}")
        read = _Read(LOADED, None, len(data), hashlib.sha256(data).hexdigest(), stat.st_mtime_ns)
        if past.get("sha256") == read.sha256:
            read.status, read.reason = SKIPPED, "re-send: same bytes as already processed"
        elif landed.problem:
            read.status, read.reason = REJECTED, landed.problem
        else:
            try:
                read.parsed = parse_extract(data, self.contracts[landed.source])
            except FileRejected as exc:
                read.status, read.reason = REJECTED, str(exc)
                if past.get("contributing"):
                    read.reason += "; the earlier version of this file stays loaded"
        return read

    def _record(
        self, pool: ThreadPoolExecutor, landed: LandedFile, past: dict, read: _Read
    ) -> None:
        """Log one read file, in scan order; queue its rows for checking."""
        if read.status is None:
            self.report.unchanged += 1
            return
        parsed = read.parsed
        if parsed is None:
            self._log(landed, read, read.status, read.reason)
            return
        contract = self.contracts[landed.source]
        replaces = past.get("contributing")
        if replaces:
            self.con.execute(f"delete from raw.{contract.name} where _file_id = ?", [replaces])
        outcome = self._log(
            landed,
            read,
            REPLACED if replaces else LOADED,
            "corrected re-delivery: replaces the earlier version" if replaces else None,
            rows_read=parsed.rows_read,
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
        pending = self.pending[contract.name]
        pending.append((outcome, parsed))
        self.pending_rows[contract.name] += len(parsed.row_numbers)
        if self.pending_rows[contract.name] >= BATCH_ROWS:
            self._submit_check(pool, contract, pending)

    def _submit_check(
        self,
        pool: ThreadPoolExecutor,
        contract: SourceContract,
        pending: list[tuple[FileOutcome, _ParsedFile]],
    ) -> None:
        self.checks.append(pool.submit(self._check_source, contract, list(pending)))
        pending.clear()
        self.pending_rows[contract.name] = 0

    def _write_checked(self, wait: bool) -> None:
        """Write the checked batches, in the order they were queued: all of them
        (``wait``), or those at the head of the queue that are done."""
        while self.checks and (wait or self.checks[0].done()):
            checked = self.checks.popleft().result()
            self.quarantine_rows += checked.quarantine
            self._insert_arrow(f"raw.{checked.source}", checked.table)

    def _log(
        self,
        landed: LandedFile,
        read: _Read,
        status: str,
        reason: str | None,
        **counts: object,
    ) -> FileOutcome:
        outcome = FileOutcome(
            file_id=self.next_file_id,
            path=landed.relative,
            source=landed.source,
            size_bytes=read.size_bytes,
            sha256=read.sha256,
            mtime_ns=read.mtime_ns,
            extract_date=landed.extract_date,
            status=status,
            reason=reason,
            **counts,  # type: ignore[arg-type]
        )
        self.next_file_id += 1
        self.report.files.append(outcome)
        return outcome

    def _check_source(
        self, contract: SourceContract, files: list[tuple[FileOutcome, _ParsedFile]]
    ) -> _Checked:
        """Check every row of a batch of files of one source at once (in a worker thread);
        the valid rows staged for ``raw.<source>``, the others (with their reasons) for
        ``raw.quarantine``, both counted in each file's load-log row."""
        read = [f for f in files if not f[1].split_by_arrow]
        files = read + [f for f in files if f[1].split_by_arrow]
        sizes = np.array([len(parsed.row_numbers) for _, parsed in files], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        columns = {
            name: pa.concat_arrays(
                [
                    pa.array(
                        list(chain.from_iterable(parsed.columns[name] for _, parsed in read)),
                        pa.string(),
                    ),
                    *(parsed.columns[name] for _, parsed in files[len(read) :]),
                ]
            )
            for name in contract.delivered_columns
        }
        file_index = np.repeat(np.arange(len(files)), sizes)
        days = [d.year * 10_000 + d.month * 100 + d.day for d in (o.extract_date for o, _ in files)]
        proven = proven_valid(contract, columns, np.repeat(np.array(days, dtype=np.int64), sizes))
        problems: dict[int, list[Problem]] = {}
        for index in np.flatnonzero(~proven).tolist():
            outcome = files[file_index[index]][0]
            found = check_row(contract, _row(contract, columns, index), outcome.extract_date)
            if found:
                problems[index] = found
        repeated = Problem(
            "+".join(contract.column_for(name).delivered_as for name in contract.record_id),
            "record id repeated in this file",
            "at most one row per record id",
        )
        for index in np.flatnonzero(_repeated_ids(contract, columns, file_index)).tolist():
            problems.setdefault(index, []).append(repeated)
        valid = np.ones(len(file_index), dtype=bool)
        valid[list(problems)] = False
        quarantine: list[tuple] = []
        with_problems = sorted(problems)
        # per file: where its rows start among the rows with problems, and its valid rows
        cut = np.searchsorted(with_problems, starts).tolist()
        loaded = np.diff(np.concatenate([[0], np.cumsum(valid)])[starts]).tolist()
        for number, (outcome, parsed) in enumerate(files):
            indices = with_problems[cut[number] : cut[number + 1]]
            outcome.rows_loaded = loaded[number]
            first = int(starts[number])
            quarantine += _quarantine(contract, outcome, parsed, columns, problems, first, indices)
        return _Checked(contract.name, self._stage(contract, files, columns, valid), quarantine)

    def _stage(
        self,
        contract: SourceContract,
        files: list[tuple[FileOutcome, _ParsedFile]],
        columns: dict[str, pa.Array],
        valid: np.ndarray,
    ) -> pa.Table:
        """The valid rows as a ``raw.<source>`` table: student refs pseudonymised, empty
        values null, nothing else changed."""
        keep = pa.array(np.flatnonzero(valid))
        sizes = [len(parsed.row_numbers) for _, parsed in files]
        table = {
            "_file_id": np.repeat([o.file_id for o, _ in files], sizes)[valid],
            "_extract_date": pa.array(
                np.repeat(np.array([o.extract_date for o, _ in files], "datetime64[D]"), sizes)[
                    valid
                ]
            ),
            "_row_number": np.concatenate([parsed.row_numbers for _, parsed in files])[valid],
            "_loaded_at": pa.repeat(pa.scalar(self.now, pa.timestamp("us")), len(keep)),
        }
        for rule in contract.columns:
            values = columns[rule.delivered_as].take(keep)
            if rule.type == "nhs_number":
                values = self.pseudonymise.keys(values)
            table[rule.name] = pc.if_else(pc.equal(values, ""), None, values)
        return pa.table(table)

    def _insert(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        if rows:
            self._insert_arrow(
                table,
                pa.table(
                    {
                        name: list(col)
                        for name, col in zip(columns, zip(*rows, strict=True), strict=True)
                    }
                ),
            )

    def _insert_arrow(self, table: str, arrow: pa.Table) -> None:
        if not arrow.num_rows:
            return
        self.con.register("_incoming", arrow)
        try:
            self.con.execute(f"insert into {table} by name select * from _incoming")
        finally:
            self.con.unregister("_incoming")

    def _write(self) -> None:
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
