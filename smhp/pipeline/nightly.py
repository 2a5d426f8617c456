"""The nightly run: ingest → dbt build → quality gates → publish (write–audit–publish).

Everything is written into a candidate copy of the warehouse; only a candidate whose
ingest, ``dbt build`` (models, data tests, unit tests) and Great Expectations suites
pass every blocking check replaces the published file (see ``smhp.pipeline.publish``). Whatever
happens, the run's record goes into the run history (``smhp.pipeline.history``); a run that
publishes no data still republishes the unchanged data with its history, so the
dashboard shows that the last run was blocked and why.

Before anything is loaded the run checks its pseudonymisation key (``smhp.pipeline.keys``): the
public demo key only in a demo folder, and the same key as the published data was built
with, unless the run is a key rotation (``rotate_key``: a full reload into an empty
candidate from every retained extract, landing folder and archive).

A night with nothing new rebuilds nothing: when ingest touched no file and the build
(dbt project, seeds, suites, their code and versions) is the one the published marts were
made with, the run keeps those marts and carries that build's checks over
(``smhp.pipeline.build_state``); ``full_refresh`` always rebuilds.

A night with new files builds incrementally: the record sources' staging and
current-version models take only what the new and replaced files touch
(``pipeline/macros/incremental_versions.sql``); every other model is rebuilt. A changed
build, a key rotation or ``full_refresh`` rebuild everything (``dbt build --full-refresh``;
``_full_build_reason``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from smhp.pipeline import build_state
from smhp.pipeline.addons import AddOnOutcome, FinishedRun, run_addons, selected
from smhp.pipeline.contract import load_contract
from smhp.pipeline.faults import pause_point
from smhp.pipeline.history import (
    BLOCKED,
    FAILED,
    PUBLISHED,
    PUBLISHED_WITH_WARNINGS,
    HistoryStore,
    RunRecord,
    write_ops_tables,
)
from smhp.pipeline.ingest import LOADED, REJECTED, REPLACED, SKIPPED, IngestReport, ingest
from smhp.pipeline.keys import check_key_for, check_unchanged, fingerprint
from smhp.pipeline.publish import WarehouseLayout
from smhp.pipeline.quality.freshness import latest_extracts_sql, source_freshness
from smhp.pipeline.quality.report import failed_errors, failed_warnings
from smhp.pipeline.reporter import Reporter
from smhp.settings import Settings

STAGES = ("ingest", "dbt build", "quality", "publish")

NOT_NIGHTLY = ("unit_test",)
"""dbt resource types the nightly build leaves out. dbt's unit tests check the SQL logic on
fixed inputs, so tonight's data cannot change their verdict: as dbt Labs recommends, they
run in development and CI (``make test``: ``tests/test_dbt_project.py`` builds with them, and
a change to a model cannot land while one fails), not on every night's data; the nightly
build runs the models and every data test."""


class Blocked(Exception):
    """A blocking check failed: the candidate must not be published."""


@dataclass
class NightlyResult:
    run_id: str
    outcome: str = FAILED
    reason: str | None = None  # why it did not publish, or what the warnings were
    snapshot: Path | None = None
    ingest: IngestReport | None = None
    timings: dict[str, float] = field(default_factory=dict)
    addons: list[AddOnOutcome] = field(default_factory=list)

    @property
    def published(self) -> bool:
        return self.outcome in (PUBLISHED, PUBLISHED_WITH_WARNINGS)


def new_run_id(now: datetime) -> str:
    """Sortable and unique per run: snapshot files are named after it."""
    return now.strftime("%Y%m%dT%H%M%S%fZ")


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class NightlyRun:
    """One run; each stage is a method, the record collects what the history shows."""

    def __init__(
        self,
        settings: Settings,
        key: bytes,
        reporter: Reporter,
        today: date,
        rotate_key: bool = False,
        full_refresh: bool = False,
        addons: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        self.settings = settings
        #: What runs after the run (``smhp.pipeline.addons``): ``SMHP_ADDONS`` unless given.
        self.addons = selected(settings.addons) if addons is None else addons
        self.key = key
        self.reporter = reporter
        self.today = today
        self.rotate_key = rotate_key
        self.full_refresh = full_refresh or rotate_key
        self.build_fingerprint = build_state.fingerprint(settings.expectations_dir)
        #: The earlier run whose marts and checks this run keeps, when nothing is new.
        self.carried: RunRecord | None = None
        #: Why dbt rebuilds everything tonight; None: an incremental build (set by ingest).
        self.full_build_reason: str | None = "no earlier build"
        self.worker: object | None = None  # the Great Expectations worker, once started
        self.layout = WarehouseLayout(settings.warehouse)
        self.store = HistoryStore(self.layout.work_dir / "history")
        self.record = RunRecord(
            run_id=new_run_id(_utcnow()), started_at=_utcnow(), key_fingerprint=fingerprint(key)
        )
        self.result = NightlyResult(run_id=self.record.run_id)

    # --- stages -------------------------------------------------------------------------

    def ingest(self, candidate: Path) -> None:
        con = duckdb.connect(str(candidate))
        try:
            report = IngestReport()
            for folder in self._extract_folders():
                part = ingest(
                    con, folder, self.key, self.record.run_id, self.record.started_at, self.today
                )
                report.files += part.files
                report.unchanged += part.unchanged
            self.result.ingest = report
            self.record.files = _files_by_source(report)
            self.record.quarantine = _quarantine_by_reason(con, report)
            self.record.freshness = _freshness(con, self.today)
            built_by = build_state.built_by(con, self.build_fingerprint)
            if not report.files and not self.full_refresh:
                self.carried = self._build_to_carry(built_by)
            self.full_build_reason = self._full_build_reason(built_by)
            con.execute("checkpoint")
            if self.rotate_key:
                _check_reload_complete(con, self.settings.warehouse)
        finally:
            con.close()
        _report_ingest(report, self.reporter)
        if report.count(REJECTED):
            self.record.warnings.append(f"{report.count(REJECTED)} file(s) rejected")
        if report.rows_quarantined:
            self.record.warnings.append(f"{report.rows_quarantined} row(s) quarantined")
        stale = [
            f"{f['source']} ({f['days_since']} d)" if f["days_since"] is not None else f["source"]
            for f in self.record.freshness
            if f["status"] == "stale"
        ]
        if stale:
            self.record.warnings.append("stale: " + ", ".join(stale))

    def _build_to_carry(self, built_by: str | None) -> RunRecord | None:
        """The run that built the candidate's marts with this very build (``built_by``), if
        its record (and so its checks) is kept; else None, and the run builds."""
        return None if built_by is None else self.store.record(built_by)

    def _full_build_reason(self, built_by: str | None) -> str | None:
        """Why tonight's build must be a full one; None when an incremental build is sound
        (``built_by``: the run that built the candidate's marts with this very build).

        Incremental models assume that since the candidate's marts were built the raw
        tables changed only as the ingest changes them (new files appended with larger
        file ids, replaced files' rows deleted), and that those marts came from this very
        build (``pipeline/macros/incremental_versions.sql``).
        """
        if self.rotate_key:
            return "key rotation"
        if self.full_refresh:
            return "--full-refresh"
        if built_by is None:
            return "no earlier build by this build of the pipeline"
        return None

    def _extract_folders(self) -> list[Path]:
        """Where this run reads extracts: the landing folder; for a key rotation first the
        landing archive too (older files moved there by ``smhp retention``)."""
        archive = self.settings.landing_archive
        if self.rotate_key and archive is not None and archive.is_dir():
            return [archive, self.settings.landing]
        return [self.settings.landing]

    def dbt_build(self, candidate: Path) -> None:
        if self.carried is not None:
            self.reporter.line(
                f"  nothing new since run {self.carried.run_id}: its marts are kept, not rebuilt"
            )
            return
        from smhp.pipeline.dbt_build import build  # imports dbt (~3 s): only when a run needs it

        # Great Expectations imports in a subprocess meanwhile (5-8 s), ready for the gate
        self.worker = _start_quality_worker(self.settings.expectations_dir)
        pause_point("dbt")
        dbt_dir = self.layout.work_dir / "dbt"
        full = self.full_build_reason
        self.reporter.line(f"  full build ({full})" if full else "  incremental build")
        result = build(
            candidate,
            target_path=dbt_dir / "target",
            log_path=dbt_dir / "logs",
            exclude_resource_types=NOT_NIGHTLY,
            full_refresh=full is not None,
            threads=self.settings.dbt_threads,
        )
        counts = Counter(node.resource_type for node in result.nodes)
        self.reporter.line("  " + ", ".join(f"{n} {t}s" for t, n in sorted(counts.items())))
        for node in result.nodes:
            if node.resource_type in ("test", "unit_test"):
                self.record.checks.append(
                    {
                        "kind": "dbt_test" if node.resource_type == "test" else "unit_test",
                        "suite": "dbt",
                        "name": node.name,
                        "severity": node.severity or "error",
                        "status": node.status,
                        "observed_value": None
                        if node.failures is None
                        else f"{node.failures} failing rows",
                        "why": None,
                    }
                )
        for node in result.warned:
            self.reporter.line(f"  WARN {node.resource_type} {node.name}: {node.failures} rows")
            self.record.warnings.append(_dbt_warning(node.name))
        for node in result.failed:
            self.reporter.line(f"  FAILED {node.resource_type} {node.name}: {node.status}")
        if result.error:
            raise RuntimeError(result.error)
        broken = [n for n in result.failed if n.resource_type not in ("test", "unit_test")]
        if broken:
            raise RuntimeError(f"dbt {broken[0].resource_type} {broken[0].name} {broken[0].status}")
        if result.failed:
            first = result.failed[0]
            raise Blocked(
                f"dbt {first.resource_type} {first.name} failed"
                + (f" ({first.failures} failing rows)" if first.failures else "")
            )

    def quality(self, candidate: Path) -> None:
        if self.carried is not None:
            self._carry_checks(self.carried)
            return
        worker = self.worker
        if worker is None:
            self.reporter.line("  no expectation suites found: skipped")
            return
        results = worker.validate(candidate)  # type: ignore[attr-defined]
        blocking, warned = failed_errors(results), failed_warnings(results)
        for r in results:
            self.record.checks.append(
                {
                    "kind": "expectation",
                    "suite": r.suite,
                    "name": r.name,
                    "severity": r.severity,
                    "status": "pass"
                    if r.success
                    else ("fail" if r.severity == "error" else "warn"),
                    "observed_value": r.observed_value,
                    "why": r.why,
                }
            )
        self.reporter.line(
            f"  {len(results)} expectations: {len(blocking)} blocking failed, "
            f"{len(warned)} warnings"
        )
        for r in blocking + warned:
            self.reporter.line(
                f"  {'FAILED' if r in blocking else 'WARN'} {r.suite}: {r.name} "
                f"(observed {r.observed_value}): {r.why}"
            )
        self.record.warnings += [_expectation_warning(r.suite, r.name) for r in warned]
        if blocking:
            r = blocking[0]
            raise Blocked(
                f"expectation {r.suite}: {r.name} failed (observed {r.observed_value}): {r.why}"
            )

    def _carry_checks(self, built: RunRecord) -> None:
        """The checks of the run that built the kept marts, with their warnings: the same
        tables give the same verdicts."""
        self.record.checks = [dict(check) for check in built.checks]
        for check in self.record.checks:
            if check["status"] == "warn":
                self.record.warnings.append(
                    _dbt_warning(check["name"])
                    if check["kind"] in ("dbt_test", "unit_test")
                    else _expectation_warning(check["suite"], check["name"])
                )
        self.reporter.line(
            f"  nothing new: the {len(built.checks)} checks of run {built.run_id} carried over"
        )

    def publish(self, candidate: Path) -> None:
        self.record.outcome = PUBLISHED_WITH_WARNINGS if self.record.warnings else PUBLISHED
        self.record.reason = "; ".join(self.record.warnings) or None
        if self.carried is None:
            self.record.built_by = self.record.run_id
            con = duckdb.connect(str(candidate))
            try:
                build_state.record(con, self.build_fingerprint, self.record.run_id)
            finally:
                con.close()
        else:
            self.record.built_by = self.carried.built_by or self.carried.run_id
        self._write_history_into(candidate)
        self.result.snapshot = self.layout.publish(self.record.run_id, self.settings.keep_snapshots)
        self.reporter.line(f"  published {self.settings.warehouse} → {self.result.snapshot.name}")

    # --- the run ------------------------------------------------------------------------

    def _write_history_into(self, database: Path) -> None:
        self.record.ended_at = _utcnow()
        self.record.stages = dict(self.reporter.timings)
        con = duckdb.connect(str(database))
        try:
            write_ops_tables(con, [*self.store.records(), self.record])
            con.execute("checkpoint")
        finally:
            con.close()

    def _republish_history(self) -> None:
        """Publish the unchanged data again, with this run's record in its history."""
        if self.layout.current_snapshot() is None:
            return
        try:
            candidate = self.layout.start_candidate()
            self._write_history_into(candidate)
            self.layout.publish(self.record.run_id, self.settings.keep_snapshots)
        except Exception as exc:  # the JSON record still holds the run
            self.layout.discard_candidate()
            self.reporter.line(f"  run history not republished: {type(exc).__name__}: {exc}")

    def _save_record(self) -> None:
        try:
            self.store.save(self.record)
            self.store.clear_marker()
        except OSError as exc:
            self.reporter.line(f"  run record not saved: {exc}")

    def _run_addons(self) -> None:
        """The packs and alerts (``smhp.pipeline.addons``), once the outcome is saved: a
        run killed during them is not mistaken for one that published nothing. Their
        outcomes join the run's record, saved again."""
        if not self.addons:
            return
        finished = FinishedRun(
            run_id=self.record.run_id,
            outcome=self.record.outcome,
            reason=self.record.reason,
            published=self.result.published,
            snapshot=self.result.snapshot if self.result.published else None,
            settings=self.settings,
            today=self.today,
        )
        try:
            outcomes = run_addons(finished, self.addons, self.reporter.line)
            self.record.addons = [o.as_row() for o in outcomes]
            self.result.addons = outcomes
            if outcomes:
                self._save_record()
        except Exception as exc:  # the outcome is saved: nothing here may change it
            self.reporter.line(f"  add-ons not run: {type(exc).__name__}: {exc}")

    def _seal_audit_log(self) -> None:
        """The audit log's daily seal and anchor (``smhp.access.audit_seal``), where this account
        holds the audit key. It never changes the run's outcome: a failure is one line."""
        if self.settings.audit_key_file is None:
            return
        from smhp.access import audit_seal

        try:
            key = audit_seal.load_key(self.settings.audit_key_file)
            seal = audit_seal.seal(self.settings.audit_db, key, self.settings.audit_anchor_file)
        except Exception as exc:
            self.reporter.line(f"  audit log NOT sealed: {type(exc).__name__}: {exc}")
            return
        self.reporter.line(
            f"  audit log sealed: seal {seal.id} covers rows {seal.from_id}-{seal.upto_id}"
        )

    def run(self) -> NightlyResult:
        check_key_for(self.key, self.settings.warehouse)
        self.settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
        with self.layout.lock():
            if not self.rotate_key:  # before anything is touched: a changed key stops here
                check_unchanged(
                    self.key,
                    self.store.published_key_fingerprint()
                    or _published_key_fingerprint(self.settings.warehouse),
                )
            self.reporter.open_log(self.layout.logs_dir / f"{self.record.run_id}.log")
            self.reporter.line(
                f"smhp nightly run {self.record.run_id}: "
                f"{self.settings.landing} → {self.settings.warehouse}"
            )
            interrupted = self.store.recover_interrupted(_utcnow())
            if interrupted:
                self.reporter.line(f"  note: run {interrupted.run_id} {interrupted.reason}")
            self.layout.remove_orphans()
            stage = STAGES[0]
            try:
                self.store.mark_running(self.record, "start")
                if self.rotate_key:  # a full reload: nothing made with the old key carries over
                    self.reporter.line("  key rotation: full reload into an empty warehouse")
                    self.layout.discard_candidate()
                    candidate = self.layout.candidate
                else:
                    candidate = self.layout.start_candidate()
                steps = (self.ingest, self.dbt_build, self.quality, self.publish)
                for number, (stage, step) in enumerate(zip(STAGES, steps, strict=True), 1):
                    self.store.mark_running(self.record, stage)
                    with self.reporter.stage(number, len(STAGES), stage):
                        step(candidate)
            except Blocked as exc:
                self.record.outcome, self.record.reason = BLOCKED, f"blocked: {exc}"
            except Exception as exc:
                self.record.outcome = FAILED
                self.record.reason = f"failed during {stage}: {type(exc).__name__}: {exc}"
            finally:
                if self.worker is not None:
                    self.worker.close()  # type: ignore[attr-defined]
            if self.record.outcome in (BLOCKED, FAILED):
                self.layout.discard_candidate()
                self._republish_history()
            self.record.ended_at = _utcnow()
            self.record.stages = dict(self.reporter.timings)
            self._save_record()
            self.result.outcome, self.result.reason = self.record.outcome, self.record.reason
            self._run_addons()
            self._seal_audit_log()
            self.result.timings = dict(self.reporter.timings)
            self.reporter.line(_summary(self.result))
            self.reporter.close()
        return self.result


def run_nightly(
    settings: Settings,
    key: bytes,
    reporter: Reporter,
    today: date | None = None,
    rotate_key: bool = False,
    full_refresh: bool = False,
    addons: tuple[tuple[str, str], ...] | None = None,
) -> NightlyResult:
    """One nightly run against ``settings.landing`` and ``settings.warehouse``
    (``rotate_key``: a full reload with a new key, see ``smhp.pipeline.keys``;
    ``full_refresh``: rebuild the marts even when nothing is new; ``addons``: what runs
    after it, ``SMHP_ADDONS``'s add-ons unless given)."""
    return NightlyRun(
        settings, key, reporter, today or date.today(), rotate_key, full_refresh, addons
    ).run()


def _published_key_fingerprint(warehouse: Path) -> str | None:
    """The key fingerprint in the published warehouse's own run history: the check still
    holds when the JSON history in ``FILE.work/`` was lost."""
    from smhp.warehouse import WarehouseNotFound, open_published

    try:
        con = open_published(warehouse)
    except WarehouseNotFound:
        return None
    try:
        row = con.execute(
            "select key_fingerprint from ops.runs"
            " where outcome in ('published', 'published_with_warnings')"
            " order by started_at desc, run_id desc limit 1"
        ).fetchone()
    except (duckdb.CatalogException, duckdb.BinderException):  # from before ops / fingerprints
        return None
    finally:
        con.close()
    return row[0] if row else None


def _check_reload_complete(con: duckdb.DuckDBPyConnection, warehouse: Path) -> None:
    """Block a key rotation that would lose data: every extract file the published data
    holds must have been loaded again (from the landing folder or the archive)."""
    from smhp.warehouse import WarehouseNotFound, open_published

    contributing = "select distinct path from raw.load_log where status in ('loaded', 'replaced')"
    try:
        published = open_published(warehouse)
    except WarehouseNotFound:
        return
    try:
        before = {path for (path,) in published.execute(contributing).fetchall()}
    finally:
        published.close()
    missing = sorted(before - {path for (path,) in con.execute(contributing).fetchall()})
    if missing:
        raise Blocked(
            f"key rotation: {len(missing)} extract file(s) in the published data were not "
            f"loaded again (e.g. {missing[0]}): restore them to the landing folder or "
            "SMHP_LANDING_ARCHIVE (or ask for a full re-send), then run --rotate-key again"
        )


def _dbt_warning(name: str) -> str:
    return f"dbt test {name} warned"


def _expectation_warning(suite: str, name: str) -> str:
    return f"expectation {suite}: {name}"


def _start_quality_worker(expectations_dir: Path) -> object | None:
    """Start importing Great Expectations now, in a subprocess, so it overlaps dbt."""
    if not any(expectations_dir.glob("*.json")):
        return None
    from smhp.pipeline.quality import GxWorker

    return GxWorker(expectations_dir)


def _files_by_source(report: IngestReport) -> list[dict]:
    by_source: dict[str, dict] = {}
    for f in report.files:
        row = by_source.setdefault(
            f.source or "(unknown)",
            {
                "source": f.source or "(unknown)",
                "files_loaded": 0,
                "files_replaced": 0,
                "files_skipped": 0,
                "files_rejected": 0,
                "rows_read": 0,
                "rows_loaded": 0,
                "rows_quarantined": 0,
            },
        )
        row[f"files_{f.status}"] += 1
        for key in ("rows_read", "rows_loaded", "rows_quarantined"):
            row[key] += getattr(f, key) or 0
    return sorted(by_source.values(), key=lambda r: r["source"])


def _quarantine_by_reason(con: duckdb.DuckDBPyConnection, report: IngestReport) -> list[dict]:
    ids = [f.file_id for f in report.files if f.status in (LOADED, REPLACED)]
    if not ids:
        return []
    rows = con.execute(
        "select source, column_name, value_class, rule, count(*) from raw.quarantine"
        " where list_contains(?, file_id) group by all order by all",
        [ids],
    ).fetchall()
    keys = ("source", "column_name", "value_class", "rule", "rows")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _freshness(con: duckdb.DuckDBPyConnection, today: date) -> list[dict]:
    """Every source of the contract: days since its latest extract, against its dbt
    warn_after (the definition: ``smhp.pipeline.quality.freshness``)."""
    latest = dict(con.execute(latest_extracts_sql("raw.load_log")).fetchall())
    contracts = load_contract()
    warn_after = {name: contract.warn_after_days for name, contract in contracts.items()}
    return source_freshness(latest, today, contracts, warn_after)


def _report_ingest(report: IngestReport, reporter: Reporter) -> None:
    for f in report.files:
        if f.status == REJECTED:
            reporter.line(f"  rejected {f.path}: {f.reason}")
        elif f.status == SKIPPED:
            reporter.line(f"  skipped {f.path}: {f.reason}")
        elif f.rows_quarantined or f.dropped_columns or f.status == REPLACED:
            reporter.line(
                f"  {f.status} {f.path}: {f.rows_read} rows read, {f.rows_loaded} loaded, "
                f"{f.rows_quarantined} quarantined" + (f"; {f.reason}" if f.reason else "")
            )
    reporter.line(
        f"  files: {report.count(LOADED)} loaded, {report.count(REPLACED)} replaced, "
        f"{report.count(SKIPPED)} skipped as re-sends, {report.count(REJECTED)} rejected, "
        f"{report.unchanged} unchanged since the last run"
    )
    reporter.line(
        f"  rows: {report.rows_loaded} loaded, {report.rows_quarantined} quarantined "
        "(reasons in raw.quarantine)"
    )


def _summary(result: NightlyResult) -> str:
    timing = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
    if result.outcome == PUBLISHED:
        return f"PUBLISHED ({timing})"
    if result.outcome == PUBLISHED_WITH_WARNINGS:
        return f"PUBLISHED WITH WARNINGS: {result.reason} ({timing})"
    return f"NOT PUBLISHED: {result.reason}; the previous data stays published ({timing})"
