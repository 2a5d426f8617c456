"""The nightly pipeline at a given scale: full build, one night's incremental run, a run with
nothing new, the parse floor and a pandas reference. Functions for ``bench/run.py``.

Everything runs as a user runs it: ``smhp demo-data --scale N`` writes the landing folder
(all but the last night first), ``smhp nightly`` runs as a child process and its own log
gives the wall time of each stage; the peak memory of each stage is sampled from ``/proc``
(the resident memory of the run and every process it started, such as the Great
Expectations worker) every ``SAMPLE_SECONDS``.

Two references, measured in the same run on the same files:

- **parse floor**: pyarrow reading every landing file, nothing else. The ingest must
  parse the same bytes, so it cannot be faster; the issue's target is ingest <= 3 x floor.
- **pandas reference**: a straightforward pandas computation of a part of
  ``metrics_monthly`` from the same files: every file read as text, the winning version of
  each record (latest ``updated_at``, then latest extract date), deleted records dropped,
  then eleven of the catalogue's metrics (every count and median that needs no other
  table) by month and institution and for all institutions together. It checks no
  contract rule and pseudonymises nothing, so it is a lower bound of what pandas would
  take to do the pipeline's job. Two ratios are reported: files to metrics (pandas read +
  compute against smhp's ingest + dbt build, which also validates, pseudonymises, tests
  and builds every table) and compute only (pandas on frames already in memory against
  the execution time of the dbt models that make the metrics, from dbt's run results).
  With them, pandas' files to metrics over the parse floor: the most that any program
  that reads these files could score on the first ratio.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from procs import proc_stats  # noqa: E402

import smhp.demo.sources  # noqa: E402
from smhp.demo import arrival_nights  # noqa: E402
from smhp.pipeline.contract import load_contract  # noqa: E402

SMHP = str(Path(sys.executable).parent / "smhp")
SAMPLE_SECONDS = 0.1
STAGE_START = re.compile(r"^\[(\d)/\d\] (.+?) …$")
STAGE_DONE = re.compile(r"^\[(\d)/\d\] (.+?) done in ([\d.]+) s$")
BUILD_KIND = re.compile(r"^  (incremental build|full build \(.*\)|nothing new since run .*)$")
#: The event sources and each one's record id column, from the extract contract (the
#: references read the delivered files, where the id has the contract's name).
EVENT_SOURCES = {
    source: load_contract()[source].record_id[0] for source in smhp.demo.sources.EVENT_SOURCES
}
#: dbt models on the path from the staging tables to ``marts.metrics_monthly``.
METRIC_MODELS = re.compile(r"^(stg_|int_|fct_|metrics_monthly)")
#: dbt's log line for a model built: "... OK created sql table model marts.fct_referrals
#: ..... [OK in 0.03s]" (the model's name, its seconds).
MODEL_DONE = re.compile(r" OK created sql \w+ model \w+\.(\w+) .*\[\w+ in ([0-9.]+)s\]")


# --- running a command and watching its memory ---------------------------------------------


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for pid, _, stat in proc_stats():
        children.setdefault(int(stat[1]), []).append(pid)
        rss[pid] = int(stat[21]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


@dataclass
class Run:
    """One command's wall time, its stages (seconds, from its log) and peak memory per stage."""

    command: str
    wall_s: float = 0.0
    returncode: int = 0
    stages_s: dict[str, float] = field(default_factory=dict)
    peak_mib: dict[str, float] = field(default_factory=dict)
    build: str | None = None

    @property
    def peak_total_mib(self) -> float:
        return max(self.peak_mib.values(), default=0.0)


def run_watched(args: list[str], env: dict[str, str]) -> Run:
    """Run ``args``, reading its stage lines as they come and sampling its memory."""
    run = Run(command=" ".join(Path(a).name if a == SMHP else a for a in args))
    stage = ["start"]
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            mib = _tree_rss_bytes(proc.pid) / 2**20
            run.peak_mib[stage[0]] = round(max(run.peak_mib.get(stage[0], 0.0), mib), 1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tail: list[str] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        line = line.rstrip("\n")
        tail = (tail + [line])[-20:]
        if m := STAGE_START.match(line):
            stage[0] = m.group(2)
        elif m := STAGE_DONE.match(line):
            run.stages_s[m.group(2)] = float(m.group(3))
            stage[0] = "after"
        elif m := BUILD_KIND.match(line):
            run.build = m.group(1)
    run.returncode = proc.wait()
    done.set()
    sampler.join()
    run.wall_s = round(time.perf_counter() - started, 2)
    if run.returncode not in (0, 3):  # 3: published with warnings (the demo's stale sources)
        raise RuntimeError(f"{run.command} exited {run.returncode}:\n" + "\n".join(tail))
    return run


# --- the references --------------------------------------------------------------------------


def parse_floor(landing: Path) -> dict[str, float]:
    """pyarrow reading every file of ``landing`` (seconds, rows)."""
    import pyarrow.csv as pacsv

    started, rows = time.perf_counter(), 0
    for path in sorted(landing.rglob("*.csv")):
        try:
            rows += pacsv.read_csv(path).num_rows
        except Exception:  # noqa: BLE001 - a malformed file the ingest rejects: no rows
            continue
    return {"seconds": round(time.perf_counter() - started, 2), "rows": rows}


def _read_source(landing: Path, source: str) -> Any:
    import pandas as pd

    frames = []
    for path in sorted((landing / source).glob(f"{source}_*.csv")):
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except Exception:  # noqa: BLE001
            continue
        frame["extract_date"] = path.stem.rsplit("_", 1)[1]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _current(frame: Any, record_id: str) -> Any:
    """Winning version of each record (latest updated_at, then extract date), active only."""
    frame = frame.sort_values(["updated_at", "extract_date"], kind="stable")
    frame = frame.drop_duplicates(record_id, keep="last")
    return frame[frame["record_status"] == "active"]


def _by_month(frame: Any, date_column: str, metric: str, value: str | None = None) -> Any:
    """``metric`` per month and institution and for ALL: a count of rows, or of distinct
    students (``value='student_ref'``), or a median of ``value``."""
    import pandas as pd

    frame = frame[frame[date_column] != ""].copy()
    frame["month"] = frame[date_column].str.slice(0, 7)
    out = []
    for keys in (["month", "institution_code"], ["month"]):
        grouped = frame.groupby(keys)
        if value is None:
            result = grouped.size()
        elif value == "student_ref":
            result = grouped["student_ref"].nunique()
        else:
            result = grouped[value].median()
        result = result.rename("value").reset_index()
        if keys == ["month"]:
            result["institution_code"] = "ALL"
        out.append(result.assign(metric=metric))
    return pd.concat(out, ignore_index=True)


def _days(frame: Any, start: str, end: str) -> Any:
    """Whole days from ``start`` to ``end`` (NaN where either is empty or malformed)."""
    import pandas as pd

    def day(column: str) -> Any:
        return pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")

    return (day(end) - day(start)).dt.days


def pandas_reference(landing: Path) -> dict[str, Any]:
    """The reference computation of eleven metrics (see the module's docstring)."""
    import pandas as pd

    started = time.perf_counter()
    raw = {source: _read_source(landing, source) for source in EVENT_SOURCES}
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    cur = {s: _current(frame, EVENT_SOURCES[s]) for s, frame in raw.items()}
    liaison, discussions = cur["liaison_contacts"], cur["case_discussions"]
    referrals, ucope = cur["referrals"].copy(), cur["ucope_episodes"].copy()
    referrals["wait_days"] = _days(referrals, "referred_on", "first_appointment_on")
    ucope["days_to_assessment"] = _days(ucope, "referred_on", "assessed_on")
    metrics = pd.concat(
        [
            _by_month(liaison, "presented_at", "liaison_contacts"),
            _by_month(liaison, "presented_at", "liaison_students", "student_ref"),
            _by_month(discussions, "discussed_on", "case_discussions"),
            _by_month(referrals, "referred_on", "referrals_received"),
            _by_month(referrals, "first_appointment_on", "referral_completed_waits"),
            _by_month(referrals, "first_appointment_on", "referral_median_wait_days", "wait_days"),
            _by_month(ucope, "referred_on", "ucope_referrals"),
            _by_month(ucope, "referred_on", "ucope_students", "student_ref"),
            _by_month(ucope, "assessed_on", "ucope_assessed"),
            _by_month(
                ucope, "assessed_on", "ucope_median_days_to_assessment", "days_to_assessment"
            ),
            _by_month(ucope, "discharged_on", "ucope_discharges"),
        ],
        ignore_index=True,
    )
    compute_s = time.perf_counter() - started
    return {
        "read_s": round(read_s, 2),
        "compute_s": round(compute_s, 2),
        "total_s": round(read_s + compute_s, 2),
        "rows_read": int(sum(len(f) for f in raw.values())),
        "metric_rows": len(metrics),
        "metrics": int(metrics["metric"].nunique()),
    }


#: The pandas reference's metrics as one SQL query each: (metric, source, month column,
#: value: None = rows, "students" = distinct students, else a median of that expression).
SQL_METRICS = (
    ("liaison_contacts", "liaison_contacts", "presented_at", None),
    ("liaison_students", "liaison_contacts", "presented_at", "students"),
    ("case_discussions", "case_discussions", "discussed_on", None),
    ("referrals_received", "referrals", "referred_on", None),
    ("referral_completed_waits", "referrals", "first_appointment_on", None),
    (
        "referral_median_wait_days",
        "referrals",
        "first_appointment_on",
        "try_cast(first_appointment_on as date) - try_cast(referred_on as date)",
    ),
    ("ucope_referrals", "ucope_episodes", "referred_on", None),
    ("ucope_students", "ucope_episodes", "referred_on", "students"),
    ("ucope_assessed", "ucope_episodes", "assessed_on", None),
    (
        "ucope_median_days_to_assessment",
        "ucope_episodes",
        "assessed_on",
        "try_cast(assessed_on as date) - try_cast(referred_on as date)",
    ),
    ("ucope_discharges", "ucope_episodes", "discharged_on", None),
)


def duckdb_reference(warehouse: Path) -> dict[str, Any]:
    """The pandas reference's computation (winning versions, active records, the eleven
    metrics by month and institution and for ALL) as plain DuckDB SQL over the raw tables
    the ingest loaded: the same work on data already loaded, so ``compute_s`` compares the
    engines with pandas' ``compute_s`` (frames already in memory)."""
    import duckdb

    con = duckdb.connect()  # the warehouse attached read-only; the winners in memory
    try:
        con.execute(f"attach '{warehouse}' as warehouse (read_only)")
        started = time.perf_counter()
        for source, record_id in EVENT_SOURCES.items():
            con.execute(
                f"""create temp table {source} as
                select * from warehouse.raw.{source}
                qualify row_number() over (
                    partition by {record_id} order by updated_at desc, _extract_date desc) = 1"""
            )
        rows = 0
        for metric, source, month, value in SQL_METRICS:
            measure = (
                "count(*)"
                if value is None
                else "count(distinct student_key)"
                if value == "students"
                else f"median({value})"
            )
            rows += len(
                con.execute(
                    f"""select left({month}, 7) as month,
                        coalesce(institution_code, 'ALL') as institution_code,
                        '{metric}' as metric, {measure} as value
                    from {source}
                    where record_status = 'active' and {month} is not null
                    group by grouping sets ((left({month}, 7), institution_code),
                                            (left({month}, 7)))"""
                ).fetchall()
            )
        return {"compute_s": round(time.perf_counter() - started, 2), "metric_rows": rows}
    finally:
        con.close()


def metric_models_seconds(warehouse: Path) -> float:
    """Execution time of the dbt models from staging to ``metrics_monthly`` in the last
    build of ``warehouse`` (threads overlap, so this is their sum), from dbt's log: the
    nightly run writes no run_results.json (``smhp.settings.DBT_DEFAULTS``), and
    the log's line for each model ends with its time."""
    log = Path(f"{warehouse}.work") / "dbt" / "logs" / "dbt.log"
    last_build = log.read_text(encoding="utf-8").rsplit("Running with dbt=", 1)[-1]
    return round(
        sum(
            float(seconds)
            for name, seconds in MODEL_DONE.findall(last_build)
            if METRIC_MODELS.match(name)
        ),
        2,
    )


# --- one scale -----------------------------------------------------------------------------


@dataclass
class ScaleResult:
    """Every pipeline figure of one scale."""

    scale: int
    rows: int
    files: int
    generate: Run
    full: Run
    incremental: Run
    nothing_new: Run
    delta_files: int
    parse_floor: dict[str, float]
    pandas: dict[str, Any]
    duckdb: dict[str, Any]
    metric_models_s: float

    def ratios(self) -> dict[str, float]:
        ingest = self.full.stages_s.get("ingest", 0.0)
        build = self.full.stages_s.get("dbt build", 0.0)
        return {
            "ingest_over_parse_floor": round(ingest / self.parse_floor["seconds"], 2),
            "pandas_over_smhp_files_to_metrics": round(
                self.pandas["total_s"] / (ingest + build), 2
            ),
            # the most any program that reads these files can score, files to metrics
            "pandas_over_parse_floor": round(
                self.pandas["total_s"] / self.parse_floor["seconds"], 2
            ),
            "pandas_over_dbt_metric_models": round(
                self.pandas["compute_s"] / self.metric_models_s, 2
            ),
            "pandas_over_duckdb_compute": round(
                self.pandas["compute_s"] / max(self.duckdb["compute_s"], 0.01), 1
            ),
        }

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"ratios": self.ratios()}


def run_scale(scale: int, work: Path, end: date, env: dict[str, str]) -> ScaleResult:
    """Generate the landing at ``scale``, then a full build of all but the last night, that
    night incrementally, and a run with nothing new; the references on the same files."""
    folder = work / f"scale-{scale}"
    landing, seeds, warehouse = folder / "landing", folder / "seeds", folder / "warehouse.duckdb"
    # the generator writes the seeds folder the runs then read: it reads the repo's own
    runs_env = dict(env, SMHP_SEEDS_DIR=str(seeds) if scale > 1 else str(ROOT / "seeds"))
    data_args = [SMHP, "demo-data", "--out", str(landing), "--end", end.isoformat()]
    data_args += ["--scale", str(scale)] + (["--seeds", str(seeds)] if scale > 1 else [])
    night_before = arrival_nights(end)[-2].isoformat()  # the last night arrives later
    generate = _timed([*data_args, "--arrived-by", night_before], env)
    nightly = [SMHP, "nightly", "--landing", str(landing), "--warehouse", str(warehouse)]
    full = run_watched(nightly, runs_env)
    metric_models_s = metric_models_seconds(warehouse)  # of the full build, before the next
    before = {p: p.stat().st_mtime_ns for p in landing.rglob("*.csv")}
    _timed(data_args, env)  # the last night arrives
    delta = sum(1 for p in landing.rglob("*.csv") if before.get(p) != p.stat().st_mtime_ns)
    incremental = run_watched(nightly, runs_env)
    nothing_new = run_watched(nightly, runs_env)
    floor = parse_floor(landing)
    reference = pandas_reference(landing)
    in_duckdb = duckdb_reference(warehouse)
    files = sum(1 for _ in landing.rglob("*.csv"))
    return ScaleResult(
        scale=scale,
        rows=floor["rows"],
        files=files,
        generate=generate,
        full=full,
        incremental=incremental,
        nothing_new=nothing_new,
        delta_files=delta,
        parse_floor=floor,
        pandas=reference,
        duckdb=in_duckdb,
        metric_models_s=metric_models_s,
    )


def _timed(args: list[str], env: dict[str, str]) -> Run:
    run = Run(command=" ".join(args[1:3]))
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    run.wall_s = round(time.perf_counter() - started, 2)
    run.returncode = done.returncode
    if done.returncode:
        raise RuntimeError(f"{run.command} exited {done.returncode}: {done.stderr[-2000:]}")
    return run
