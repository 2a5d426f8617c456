"""Great Expectations quality gates on the candidate warehouse, before it is published.

Each suite is a pair of files in ``expectations/``: ``<suite>.json`` (a GX 1.x
ExpectationSuite, versioned with the code) and ``<suite>.sql`` (the query that builds, from
the candidate, the data frame the suite validates). Every expectation carries
``meta.severity`` (``error`` blocks publishing, ``warning`` publishes and is shown) and
``meta.why`` (the sentence a data provider or on-call person can act on).

Why this shape:

* GX's SQL datasource fails on DuckDB (upstream issue 11579), so each frame is read with
  the duckdb client (read-only) and validated as a pandas data frame in an *ephemeral*
  context: nothing is written beside the warehouse, and nothing goes to the network
  (``GX_ANALYTICS_ENABLED=False`` is set before GX is imported).
* Aggregates (volume ratios, ALL against institutions, month gaps) are computed in the
  SQL, so a suite stays a readable list of bounds and the frames stay small.
* A result says what was observed in a short text — a value, a ratio, a count, a code,
  a month — but never a row value that could identify anyone: values of unexpected rows
  are copied only for expectations whose meta sets ``show_values`` (columns of counts,
  ratios and codes) and never from an identifier column. A frame may name its rows with
  a ``row_label`` column (months, metrics, codes only); the labels of failing rows are
  shown.
* Importing GX takes 5–8 s, so :class:`GxWorker` starts ``python -m smhp.pipeline.quality serve``
  at the beginning of a nightly run: the import overlaps ingest and ``dbt build``, and
  the worker answers one request when the candidate is ready.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template
from typing import IO, Any

from smhp.settings import REPO_ROOT

# GX must never try to reach its analytics service; set before any import of GX.
os.environ["GX_ANALYTICS_ENABLED"] = "False"

EXPECTATIONS_DIR = REPO_ROOT / "expectations"
"""The suites shipped with the code (the default of the setting SMHP_EXPECTATIONS_DIR)."""

SEVERITIES = ("error", "warning")
ROW_LABEL = "row_label"
"""A frame column naming each row in results (months, metrics, codes — never an id)."""

_GX_SEVERITY = {"error": "critical", "warning": "warning"}
_MAX_SHOWN = 5  # failing rows named in one observed value
_MAX_TEXT = 300  # characters of one observed value


class QualityError(RuntimeError):
    """The suites cannot be run at all (a broken suite file, a missing SQL file)."""


class GxWorkerError(QualityError):
    """The GX worker process died, answered nonsense or timed out; the message ends with
    the tail of its stderr."""


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """The outcome of one expectation on the candidate."""

    kind: str = "expectation"
    suite: str
    name: str
    """The expectation type and a summary of its column and bounds, e.g.
    ``expect_column_values_to_be_between(pct_value, min_value=0, max_value=100)``."""
    severity: str
    """``error`` (a failure blocks publishing) or ``warning`` (shown, publishes)."""
    success: bool
    observed_value: str | None
    """A short text: the observed value, or how many rows were unexpected and which (by
    row label); never a value that could identify a person or a record."""
    why: str

    @property
    def blocking(self) -> bool:
        """True when this result must stop the candidate from being published."""
        return not self.success and self.severity == "error"

    def line(self) -> str:
        """One line for a log or a terminal."""
        status = "ok" if self.success else ("FAILED" if self.severity == "error" else "WARN")
        return f"{status} {self.suite}: {self.name} (observed {self.observed_value})" + (
            "" if self.success else f": {self.why}"
        )


@dataclass(frozen=True)
class Suite:
    """One suite file with its SQL, checked for what :func:`validate` relies on."""

    name: str
    spec: dict[str, Any]
    sql: str

    @property
    def expectations(self) -> list[dict[str, Any]]:
        return self.spec["expectations"]


# --- loading the suites (no GX needed) --------------------------------------------------


def load_suites(expectations_dir: Path = EXPECTATIONS_DIR) -> list[Suite]:
    """Every ``<suite>.json`` of the folder with its ``<suite>.sql``, in name order.

    Raises :class:`QualityError` on anything that would make a gate silently meaningless:
    a suite without SQL, a name not matching its file, an expectation without
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
        sql = _frame_sql(folder, path, spec)
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
        suites.append(Suite(path.stem, spec, sql))
    return suites


def _frame_sql(folder: Path, path: Path, spec: dict[str, Any]) -> str:
    """The suite's ``<suite>.sql``, or its shared template filled from ``meta.frame``.

    The five ``incoming_<source>`` suites profile their sources with one query
    (``_incoming.sql``), filled with the source, the code columns whose vanishing is
    watched and the optional column whose fill rate is watched.
    """
    sql_path = path.with_suffix(".sql")
    frame = (spec.get("meta") or {}).get("frame")
    if frame is None:
        if not sql_path.is_file():
            raise QualityError(f"{path.name}: no {sql_path.name} to build its data frame")
        return sql_path.read_text(encoding="utf-8")
    try:
        template = (folder / frame["template"]).read_text(encoding="utf-8")
        codes = "    union all\n".join(
            f"    select '{col}' as col, {col} as code, is_recent from window_rows\n"
            for col in frame["code_columns"]
        )
        return Template(template).substitute(
            source=frame["source"],
            codes=codes.rstrip("\n"),
            filled_column=frame.get("filled_column") or "null",
        )
    except (OSError, KeyError, ValueError) as exc:
        raise QualityError(f"{path.name}: meta.frame cannot build its query: {exc!r}") from None


def expectation_name(expectation: Mapping[str, Any]) -> str:
    """``type(column, bound=value, ...)``: enough to tell two expectations of a suite apart."""
    kwargs = dict(expectation.get("kwargs") or {})
    kwargs.pop("batch_id", None)
    parts: list[str] = []
    for key in ("column", "column_A", "column_B"):
        if key in kwargs:
            parts.append(str(kwargs.pop(key)))
    if "column_list" in kwargs:
        parts.append("[" + ", ".join(map(str, kwargs.pop("column_list"))) + "]")
    for key, value in kwargs.items():
        if isinstance(value, list | tuple | set) and len(value) > 4:
            value = f"<{len(value)} values>"
        parts.append(f"{key}={value}")
    return f"{expectation['type']}({', '.join(parts)})"


# --- validation -----------------------------------------------------------------------


def validate(database: Path, expectations_dir: Path = EXPECTATIONS_DIR) -> list[CheckResult]:
    """Validate the candidate ``database`` against every suite of ``expectations_dir``.

    Opens the database read-only (resolving a link to its snapshot), builds every frame,
    closes it, then validates each frame with GX in an ephemeral context. Returns every
    expectation's result, suite by suite in file-name order. A frame whose SQL fails
    gives a failed result for each of its expectations (with their own severities), so
    a broken query blocks where it guards something blocking.
    """
    suites = load_suites(expectations_dir)
    frames = _build_frames(Path(database), suites)
    gx = _import_gx()
    context = gx.get_context(mode="ephemeral")
    _silence_progress_bars(context)
    batch = (
        context.data_sources.add_pandas("candidate")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole frame")
    )
    results: list[CheckResult] = []
    for suite in suites:
        frame = frames[suite.name]
        if isinstance(frame, str):
            results += _unevaluated(suite, f"frame not built: {frame}")
            continue
        try:
            results += _validate_suite(gx, context, batch, suite, frame)
        except Exception as exc:  # a GX failure on one suite must not hide the others
            results += _unevaluated(suite, f"GX failed: {_safe_message(exc)}")
    return results


def _import_gx() -> Any:
    """Import GX (5–8 s the first time) with analytics off."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx

    return gx


def _silence_progress_bars(context: Any) -> None:
    """GX draws a tqdm bar per validation on stderr: noise in a nightly log."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)


def _build_frames(database: Path, suites: Sequence[Suite]) -> dict[str, Any]:
    """Each suite's frame (or the reason it could not be built), from one read-only
    connection that is closed before GX runs, so the file is held as briefly as possible."""
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
                frames[suite.name] = _safe_message(exc)
                continue
            if ROW_LABEL in frame.columns:
                frame = frame.set_index(ROW_LABEL)
            frames[suite.name] = frame
    finally:
        con.close()
    return frames


def _validate_suite(
    gx: Any, context: Any, batch: Any, suite: Suite, frame: Any
) -> list[CheckResult]:
    spec = dict(suite.spec)
    spec["expectations"] = [
        {**exp, "severity": _GX_SEVERITY[exp["meta"]["severity"]]} for exp in suite.expectations
    ]
    gx_suite = context.suites.add(gx.ExpectationSuite(**spec))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
    )
    run = definition.run(batch_parameters={"dataframe": frame}, result_format="SUMMARY")
    by_id = {r.expectation_config.id: r for r in run.results}
    results = []
    # the suite keeps the file's order; GX's results come in its own order
    for exp, gx_exp in zip(suite.expectations, gx_suite.expectations, strict=True):
        result = by_id.get(gx_exp.id)
        if result is None:
            success, observed = False, "no result from GX"
        else:
            success, observed = bool(result.success), _observed(result, exp, frame)
        results.append(_check(suite, exp, success, observed))
    return results


def _check(
    suite: Suite, exp: Mapping[str, Any], success: bool, observed: str | None
) -> CheckResult:
    return CheckResult(
        suite=suite.name,
        name=expectation_name(exp),
        severity=exp["meta"]["severity"],
        success=success,
        observed_value=observed,
        why=exp["meta"]["why"],
    )


def _unevaluated(suite: Suite, reason: str) -> list[CheckResult]:
    return [_check(suite, exp, False, reason[:_MAX_TEXT]) for exp in suite.expectations]


# --- observed values, without identifiers ----------------------------------------------


def _is_identifier(column: str) -> bool:
    return column == "student_key" or column.endswith("_id") or column == "student_ref"


def _concerns_identifier(exp: Mapping[str, Any]) -> bool:
    kwargs = exp.get("kwargs") or {}
    columns = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    columns += list(kwargs.get("column_list") or [])
    return any(isinstance(c, str) and _is_identifier(c) for c in columns)


def _may_show_values(exp: Mapping[str, Any]) -> bool:
    """Values of rows are shown only where the suite says they are safe (show_values), and
    never from an identifier column whatever the suite says."""
    return bool((exp.get("meta") or {}).get("show_values")) and not _concerns_identifier(exp)


def _observed(result: Any, exp: Mapping[str, Any], frame: Any) -> str | None:
    """What GX observed, as a short text that never copies an identifier."""
    message = _exception_message(result.exception_info)
    if message:
        return f"could not evaluate: {message}"[:_MAX_TEXT]
    details = result.result or {}
    if "observed_value" in details:  # aggregate expectations: a row count, a mean...
        value = details["observed_value"]
        if _concerns_identifier(exp) and not _is_number(value):
            return "not shown (an identifier column)"  # e.g. the max of an id column
        return _fmt(value)
    if "unexpected_count" not in details:
        return None
    show = _may_show_values(exp)
    column = (exp.get("kwargs") or {}).get("column")
    labelled = getattr(frame.index, "name", None) == ROW_LABEL
    if show and column in frame.columns and len(frame) == 1:  # a one-row profile frame
        text = _fmt(frame[column].iloc[0])
        return f"{frame.index[0]}: {text}" if labelled else text
    count, total = int(details["unexpected_count"]), int(details.get("element_count") or 0)
    text = f"{count} of {total} rows unexpected"
    if count == 0:
        return text
    labels = [
        item.get(ROW_LABEL) if isinstance(item, Mapping) else None
        for item in details.get("partial_unexpected_index_list") or []
    ]
    values = details.get("partial_unexpected_list") or []
    items = []
    for i in range(min(count, _MAX_SHOWN)):
        label = labels[i] if labelled and i < len(labels) else None
        value = _fmt(values[i]) if show and i < len(values) else None
        items.append(" = ".join(str(part) for part in (label, value) if part is not None))
    items = [item for item in items if item]
    if items:
        text += ": " + "; ".join(items) + ("; …" if count > len(items) else "")
    return text[:_MAX_TEXT]


def _is_number(value: Any) -> bool:
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    return isinstance(value, int | float) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    """A number rounded for reading, a date as ISO, a tuple as (a, b), None as null."""
    if value is None:
        return "null"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if math.isnan(value):
            return "null"
        return str(int(value)) if value.is_integer() else f"{round(value, 3):g}"
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value)[:_MAX_TEXT]


def _exception_message(info: Any) -> str | None:
    """The first exception message in GX's exception_info (flat, or keyed by metric)."""
    if not isinstance(info, Mapping):
        return None
    if info.get("raised_exception"):
        return _safe_message(info.get("exception_message") or "exception")
    for value in info.values():
        if isinstance(value, Mapping) and value.get("raised_exception"):
            return _safe_message(value.get("exception_message") or "exception")
    return None


_SINGLE_QUOTED = re.compile(r"'[^']*'")


def _safe_message(exc: object) -> str:
    """An error's first line with single-quoted literals blanked: DuckDB and pandas quote
    data values that way (e.g. a failed cast), and a value could be an identifier."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return _SINGLE_QUOTED.sub("'…'", text)[:_MAX_TEXT]


# --- the pre-warmed worker --------------------------------------------------------------


class GxWorker:
    """A subprocess that imports GX now and validates one candidate later.

    Construct it at the start of a nightly run: ``python -m smhp.pipeline.quality serve`` begins
    its 5–8 s import of GX while the parent ingests and runs dbt. :meth:`validate` sends
    the one request and waits for the results; :meth:`close` kills a worker that was never
    used (a run that failed early). The worker opens the database read-only and closes it
    before it answers, so the parent may write the candidate again afterwards; it must not
    hold the candidate open read-write while :meth:`validate` runs (DuckDB lets no other
    process read a file open for writing).
    """

    def __init__(
        self,
        expectations_dir: Path = EXPECTATIONS_DIR,
        *,
        timeout: float = 300.0,
        python: str | None = None,
    ) -> None:
        self.expectations_dir = Path(expectations_dir).resolve()
        self.timeout = timeout
        # kept open for the worker's lifetime (closed in close()): a file, not a pipe, so a
        # chatty worker can never block on a full stderr pipe nobody reads
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        env = dict(os.environ)
        env["GX_ANALYTICS_ENABLED"] = "False"
        env["TQDM_DISABLE"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._proc = subprocess.Popen(
            [python or sys.executable, "-m", "smhp.pipeline.quality", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self._used = False

    @property
    def pid(self) -> int:
        return self._proc.pid

    def validate(self, database: Path, expectations_dir: Path | None = None) -> list[CheckResult]:
        """Validate ``database`` in the worker (waits for its GX import if still going).

        Raises :class:`GxWorkerError` with the tail of the worker's stderr if it dies,
        answers something that is not a result list, or takes longer than ``timeout``
        seconds (then it is killed). A worker validates once.
        """
        if self._used:
            raise GxWorkerError("this GX worker was already used: start a new one per run")
        self._used = True
        request = {
            "database": str(Path(os.path.realpath(database))),
            "expectations_dir": str(Path(expectations_dir or self.expectations_dir).resolve()),
        }
        started = time.perf_counter()
        try:
            out, _ = self._proc.communicate(
                (json.dumps(request) + "\n").encode("utf-8"), timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            self._kill()
            raise GxWorkerError(
                f"GX worker gave no answer within {self.timeout:.0f} s and was killed"
                + self._stderr_tail()
            ) from None
        if self._proc.returncode != 0:
            raise GxWorkerError(
                f"GX worker exited with code {self._proc.returncode} after "
                f"{time.perf_counter() - started:.1f} s" + self._stderr_tail()
            )
        try:
            return [CheckResult(**item) for item in json.loads(out)]
        except (ValueError, TypeError) as exc:
            raise GxWorkerError(
                f"GX worker answered something that is not a result list ({exc})"
                + self._stderr_tail()
            ) from None

    def close(self) -> None:
        """Kill the worker if it is still running (never used, or abandoned) and clean up."""
        self._kill()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._stderr.close()

    def __enter__(self) -> GxWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def _stderr_tail(self, lines: int = 15) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 4000))
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return ("; worker stderr:\n" + "\n".join(tail)) if tail else "; worker stderr is empty"


def _serve(stdin: IO[str] = sys.stdin) -> int:
    """The worker: import GX, wait for one request on stdin, answer on stdout, exit.

    Anything printed while working goes to stderr, so stdout carries only the answer.
    End of input without a request (the parent closed or died) exits quietly.
    """
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    _import_gx()  # the slow part, paid while the parent ingests and builds
    import duckdb  # noqa: F401  (and the frame reader's import)

    line = stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    results = validate(Path(request["database"]), Path(request["expectations_dir"]))
    with answer:
        json.dump([asdict(r) for r in results], answer)
    return 0


# --- reading results -------------------------------------------------------------------


def failed_errors(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The failed ``error`` expectations: any of them means do not publish."""
    return [r for r in results if r.blocking]


def failed_warnings(results: Iterable[CheckResult]) -> list[CheckResult]:
    """The failed ``warning`` expectations: publish, and show them."""
    return [r for r in results if not r.success and r.severity == "warning"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smhp.pipeline.quality serve`` (the worker) or ``check DATABASE`` (by hand)."""
    parser = argparse.ArgumentParser(prog="python -m smhp.pipeline.quality")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="the GxWorker subprocess: one JSON request on stdin")
    check = sub.add_parser("check", help="validate a warehouse file and print every result")
    check.add_argument("database", type=Path)
    check.add_argument("--expectations", type=Path, default=None)
    check.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve()
    from smhp.settings import Settings

    folder = args.expectations or Settings.from_env().expectations_dir
    started = time.perf_counter()
    results = validate(args.database, folder)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            print(r.line())
        errors, warned = len(failed_errors(results)), len(failed_warnings(results))
        print(
            f"{len(results)} expectations in {time.perf_counter() - started:.1f} s: "
            f"{errors} blocking failed, {warned} warnings"
        )
    return 1 if failed_errors(results) else 0


if __name__ == "__main__":
    sys.exit(main())
