"""Building the warehouse with dbt, in-process.

The nightly run calls :func:`build` once it has loaded the raw layer into a fresh
database file. dbt runs inside this Python process (``dbtRunner``) rather than as a
``dbt`` subprocess: the CLI pays ~5 s of start-up and parsing on every call, in-process
the import is paid once, and the per-node results come back as objects, so the caller can
name every failing test instead of scraping log text.

The dbt project is ``pipeline/`` of this repository; its committed ``profiles.yml``
reads the database path from the environment variable ``SMHP_DBT_DATABASE``, which
:func:`build` sets for the duration of the call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smhp.settings import DBT_DEFAULTS, PIPELINE_DIR, SEEDS_DIR, environment

DATABASE_ENV_VAR = "SMHP_DBT_DATABASE"
SEED_PATH_ENV_VAR = "SMHP_DBT_SEED_PATH"  # seed-paths in pipeline/dbt_project.yml
OK_STATUSES = frozenset({"success", "pass", "warn", "no-op"})
"""Node statuses that do not fail a build: a `warn` test is reported, not fatal, and an
exposure (the dashboard) is a `no-op` node."""

log = logging.getLogger(__name__)

# dbt keeps its flags and adapter registry in process-wide globals: two invocations at
# once in one process would trample each other, so builds are serialised.
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class NodeResult:
    """What happened to one dbt node (model, seed, data test or unit test)."""

    name: str
    unique_id: str
    resource_type: str
    status: str
    execution_time: float
    failures: int | None
    message: str | None
    severity: str | None = None  # tests only: "error" or "warning"

    @property
    def ok(self) -> bool:
        """False when this node makes the build fail (error, failed test, skipped)."""
        return self.status in OK_STATUSES


@dataclass(frozen=True)
class DbtBuildResult:
    """The outcome of one ``dbt build``: overall success and every node's result."""

    success: bool
    nodes: tuple[NodeResult, ...] = ()
    error: str | None = None
    """Why dbt could not run at all (bad project, missing profile...), if so."""
    elapsed_seconds: float = 0.0
    args: tuple[str, ...] = field(default=(), repr=False)

    @property
    def failed(self) -> list[NodeResult]:
        """Nodes that errored, failed or were skipped because something upstream did."""
        return [node for node in self.nodes if not node.ok]

    @property
    def warned(self) -> list[NodeResult]:
        """Tests of severity `warn` that found rows: worth reporting, not fatal."""
        return [node for node in self.nodes if node.status == "warn"]

    def summary(self) -> str:
        """One line per problem, for a log or an e-mail to the people who run the service."""
        if self.error:
            return f"dbt build could not run: {self.error}"
        lines = [
            f"dbt build {'succeeded' if self.success else 'FAILED'}: "
            f"{len(self.nodes)} nodes in {self.elapsed_seconds:.1f} s"
        ]
        for node in self.failed + self.warned:
            detail = f" ({node.failures} failing rows)" if node.failures else ""
            lines.append(f"  {node.status.upper()} {node.resource_type} {node.name}{detail}")
            if node.message and node.status in {"error", "fail"}:
                lines.append(f"    {node.message.strip().splitlines()[0]}")
        return "\n".join(lines)


OnNode = Callable[[NodeResult], None]


def build(
    database: Path,
    on_node: OnNode | None = None,
    *,
    select: Sequence[str] = (),
    exclude_resource_types: Sequence[str] = (),
    dbt_vars: Mapping[str, Any] | None = None,
    quiet: bool = True,
    target_path: Path | None = None,
    log_path: Path | None = None,
    full_refresh: bool = False,
    threads: int | None = None,
) -> DbtBuildResult:
    """Run ``dbt build`` (seeds, models, data tests, unit tests) into ``database``.

    ``database`` is the DuckDB file holding the ``raw`` schema; dbt writes the schemas
    ``seeds``, ``staging``, ``intermediate`` and ``marts`` into it. ``on_node`` is
    called with each node's result as soon as the node finishes (progress reporting); an
    exception it raises is logged and ignored, so a progress display can never fail the
    build. ``select`` narrows the build (``--select``), ``exclude_resource_types`` skips
    resource types (e.g. ``["unit_test"]``: unit tests check the SQL, not the data),
    ``dbt_vars`` overrides project vars (e.g. ``{"reliable_change_threshold": 5}``).
    ``full_refresh`` rebuilds the incremental models from scratch (``--full-refresh``;
    ``smhp.pipeline.nightly`` decides when an incremental build is sound). ``threads``
    overrides the profile's (``--threads``; the nightly run passes ``SMHP_DBT_THREADS``).
    ``quiet`` keeps dbt's console output to errors; the log is in ``pipeline/logs/dbt.log``
    (at ``smhp.settings.DBT_DEFAULTS``' level). ``target_path`` moves dbt's artifacts out of
    ``pipeline/target`` (e.g. for builds running side by side) and ``log_path`` moves
    ``pipeline/logs``: the nightly run keeps both beside the warehouse, so that a service
    account needs write access there only, never to the code.

    Speed: dbt reuses its parsed project (partial parsing: about 2.5 s of CPU saved) only
    when the profile is unchanged, and the profile includes the database path. So dbt runs
    in the database's folder and the profile names the file alone (``candidate.duckdb``
    for every nightly run): one parse then serves every warehouse. A ``target_path``
    without a parse of its own starts from the last one this account made with the same
    seeds and vars (``parse_cache``); dbt re-parses whatever changed since, as it always
    does.

    Never raises for a failing build: check ``result.success`` and ``result.failed``.
    """
    from dbt.cli.main import dbtRunner  # deferred: importing dbt takes seconds

    database = Path(database).resolve()
    # now: dbt runs in the database's folder, where a relative target would be another
    target_path = Path(target_path).resolve() if target_path is not None else None
    args = [
        "build",
        # plain text: node messages (e.g. a unit test's diff) end up in logs and e-mails
        "--no-use-colors",
        "--project-dir",
        str(PIPELINE_DIR),
        "--profiles-dir",
        str(PIPELINE_DIR),
    ]
    if quiet:
        args.append("--quiet")
    if target_path is not None:
        args += ["--target-path", str(Path(target_path).resolve())]
    if log_path is not None:
        args += ["--log-path", str(Path(log_path).resolve())]
    if select:
        args += ["--select", *select]
    if exclude_resource_types:
        args += ["--exclude-resource-type", *exclude_resource_types]
    if full_refresh:
        args.append("--full-refresh")
    if threads is not None:
        args += ["--threads", str(threads)]
    if dbt_vars:
        args += ["--vars", json.dumps(dict(dbt_vars))]

    callbacks = [_node_finished_callback(on_node)] if on_node is not None else []
    started = time.perf_counter()
    seed_path = _seed_path(Path(target_path or PIPELINE_DIR / "target"))
    if seed_path is None:
        error = f"dbt would write over the seeds in {SEEDS_DIR} from target {target_path}"
        return DbtBuildResult(success=False, error=error, args=tuple(args))
    cache = parse_cache(seed_path, dbt_vars)
    # dbt reads env_var() from os.environ: set while dbt runs, never leaked to later work
    variables = {
        DATABASE_ENV_VAR: database.name,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        SEED_PATH_ENV_VAR: seed_path,
        **{name: os.environ.get(name, default) for name, default in DBT_DEFAULTS.items()},
    }
    with _BUILD_LOCK, _in_folder(database.parent), environment(variables):
        if target_path is not None:
            _start_from_cached_parse(Path(target_path).resolve(), cache)
        try:
            res = dbtRunner(callbacks=callbacks).invoke(args)
        except Exception as exc:  # dbt reports most problems in res; this is the rest
            log.exception("dbt build raised")
            return DbtBuildResult(
                success=False,
                error=f"{type(exc).__name__}: {exc}",
                elapsed_seconds=time.perf_counter() - started,
                args=tuple(args),
            )
        finally:
            _release_database()
    elapsed = time.perf_counter() - started

    if target_path is not None and res.success:
        _cache_parse(Path(target_path).resolve(), cache)
    run_results = getattr(res.result, "results", None) or []
    nodes = tuple(_from_run_result(run_result) for run_result in run_results)
    error = None
    if res.exception is not None:
        error = f"{type(res.exception).__name__}: {res.exception}"
    return DbtBuildResult(
        success=bool(res.success) and error is None,
        nodes=nodes,
        error=error,
        elapsed_seconds=elapsed,
        args=tuple(args),
    )


def _from_run_result(run_result: Any) -> NodeResult:
    """A NodeResult from one entry of dbt's RunExecutionResult."""
    node = run_result.node
    return NodeResult(
        name=node.name,
        unique_id=node.unique_id,
        resource_type=str(node.resource_type),
        status=str(run_result.status),
        execution_time=float(run_result.execution_time or 0.0),
        failures=run_result.failures,
        message=run_result.message,
        severity=_severity(node),
    )


def _severity(node: Any) -> str | None:
    """A test's configured severity, as the run history names it ("error"/"warning")."""
    severity = str(getattr(getattr(node, "config", None), "severity", "") or "").lower()
    return {"error": "error", "warn": "warning"}.get(severity)


def _node_finished_callback(on_node: OnNode) -> Callable[[Any], None]:
    """A dbt event callback that turns each NodeFinished event into ``on_node(result)``."""

    def callback(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node_info = event.data.node_info
        run_result = event.data.run_result
        result = NodeResult(
            name=node_info.node_name,
            unique_id=node_info.unique_id,
            resource_type=node_info.resource_type,
            status=run_result.status,
            execution_time=float(run_result.execution_time),
            # the event's protobuf has no null: 0 failures is reported for models too
            failures=int(run_result.num_failures),
            message=run_result.message or None,
        )
        try:
            on_node(result)
        except Exception:
            log.exception("on_node callback failed for %s", result.unique_id)

    return callback


def _release_database() -> None:
    """Close the DuckDB database that dbt-duckdb keeps open in this process after a run.

    dbt-duckdb caches its database environment in a class attribute and does not close
    it when the invocation ends (a CLI run simply exits). Left open, the file cannot be
    opened again by this process with another configuration (e.g. ``read_only=True``:
    "Can't open a connection to same database file with a different configuration"),
    and its last changes may sit in the WAL while the caller renames the file. Closing
    it checkpoints the file. This reaches into dbt-duckdb's internals (checked with
    dbt-duckdb 1.11.1); if they change, the caller gets the error above, not bad data.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover - dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if env is not None:
            close = getattr(env, "close", None)
            if close is not None:
                close()


def _seed_path(target: Path) -> str | None:
    """``SMHP_SEEDS_DIR`` as dbt's seed path, relative to the project; None if unsafe.

    dbt writes each seed's SQL to ``<target>/run/smhp/<seed path>/<seed>.csv``: for an
    absolute seed path that is the seed file itself (dbt-core #7373, #10886); a relative
    one lands among the target's parent folders, unless the target is so near the root
    that it climbs back to the seeds (None: the build refuses).
    """
    path = os.path.relpath(SEEDS_DIR, PIPELINE_DIR)
    return None if (target / "run" / "smhp" / path).resolve() == SEEDS_DIR else path


PARTIAL_PARSE_FILE = "partial_parse.msgpack"

PARSE_CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "smhp"
"""Where this account keeps its latest dbt parses of the project, which a new target folder
starts from."""
PARSES_KEPT = 8
"""Cached parses kept (the most recently written): one for each seed folder and vars in use."""


def parse_cache(seed_path: str, dbt_vars: Mapping[str, Any] | None) -> Path:
    """The cached parse for builds with this seed path and these vars. dbt parses the whole
    project again when either differs from its last parse (the seed path is an env var of
    ``dbt_project.yml``; the vars are hashed into the parse), so each pair keeps its own:
    builds from other seeds (a national benchmark, a test's) no longer replace the parse
    the nightly run starts from with one it cannot use (a full parse, about 4 s more)."""
    key = json.dumps([seed_path, dict(dbt_vars or {})], sort_keys=True, default=str)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return PARSE_CACHE_DIR / f"{Path(PARTIAL_PARSE_FILE).stem}-{digest}.msgpack"


def _start_from_cached_parse(target: Path, cache: Path) -> None:
    """Give a target folder without a parse the cached one (a speed-up only: any problem,
    and dbt parses the whole project as it would anyway)."""
    if (target / PARTIAL_PARSE_FILE).exists() or not cache.is_file():
        return
    try:
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, target / PARTIAL_PARSE_FILE)
    except OSError:
        log.debug("no cached dbt parse for %s", target, exc_info=True)


def _cache_parse(target: Path, cache: Path) -> None:
    """Keep the parse of a successful build for the next new target folder with the same
    seeds and vars (atomically: builds in other processes read it); only the
    ``PARSES_KEPT`` newest parses stay."""
    parsed = target / PARTIAL_PARSE_FILE
    if not parsed.is_file():
        return
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f".{cache.name}.{os.getpid()}")
        shutil.copyfile(parsed, partial)
        os.replace(partial, cache)
        kept = sorted(
            cache.parent.glob(f"{Path(PARTIAL_PARSE_FILE).stem}-*.msgpack"),
            key=lambda path: path.stat().st_mtime_ns,
            reverse=True,
        )
        for old in kept[PARSES_KEPT:]:
            old.unlink(missing_ok=True)
    except OSError:
        log.debug("dbt parse not cached", exc_info=True)


@contextmanager
def _in_folder(folder: Path) -> Iterator[None]:
    """Run the block in ``folder`` (dbt opens the database by its name, relative to it),
    then return. Only under ``_BUILD_LOCK``: the working folder is the whole process's."""
    saved = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(saved)
