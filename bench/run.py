"""The scale and serving benchmark (issue 12): one command, run by hand, never by the tests.

    make bench                                   # scales 1 and 45; sessions 1, 10 and 50
    .venv/bin/python bench/run.py --scales 1 --sessions 1,10    # a quicker look

For each scale (1 = the city, 45 = a national roll-out; ``smhp demo-data --scale``):

1. the nightly pipeline (``bench/scale.py``): a full build of all but the last night, that
   night as an incremental run, a run with nothing new; wall time and peak memory per stage;
   the parse floor and the pandas reference on the same files, as ratios;
2. every dashboard query, uncached (``bench/queries.py``), p50/p95;
3. the server time of a cached page view per page and role (``bench/serving.py``).

Then, on the largest scale's warehouse, the production layout (``deploy/up.sh``: nginx with
TLS in front of ``--processes`` dashboard processes) serves ``N`` concurrent browser sessions
of Debian's chromium for each N of ``--sessions`` (``bench/serving.py``), p50/p95 page switch,
then ``N`` sessions over the wire (Streamlit's WebSocket protocol, nothing drawn): the
layout's own share, with the cores left to the servers as remote browsers would leave them.

It prints a table and writes every figure as JSON (``--out``, default
``bench/results/<date>-<host>.json``) so runs compare; the work folder (``--work``) is removed
at the end unless ``--keep``. Timings depend on the machine and on what else runs on it:
the JSON records the load average before each part.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import queries  # noqa: E402
import scale  # noqa: E402
import serving  # noqa: E402

from smhp.demo import PINNED_DEMO_END  # noqa: E402

TARGETS = {  # issue 12's targets on a 2-core machine
    "city full nightly (s)": 10,
    "national full nightly (s)": 120,
    "national peak memory (MiB)": 4096,
    "one-night incremental (s)": 30,
    "nothing new (s)": 3,
    "ingest / parse floor": 3,
    "pandas / DuckDB, the same metrics": 10,
    "dashboard query p95 (ms)": 100,
    "cached page view p95 (ms)": 50,
    "50 sessions page switch p95 (ms)": 2000,
}
AT_LEAST = {"pandas / DuckDB, the same metrics"}  # the targets a figure must reach, not stay under


def _environment(work: Path) -> dict[str, str]:
    """The nightly runs' environment: a fresh key, no add-ons, no telemetry."""
    key = work / "pseudonym.key"
    if not key.exists():
        subprocess.run([scale.SMHP, "keygen", "--out", str(key)], check=True, capture_output=True)
    return dict(
        os.environ,
        SMHP_PSEUDONYM_KEY_FILE=str(key),
        SMHP_ADDONS="",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        GX_ANALYTICS_ENABLED="False",
    )


def _save(report: dict[str, Any], out: Path) -> None:
    """Write what is measured so far: a part that fails later loses nothing before it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def run(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    work = Path(args.work or tempfile.mkdtemp(prefix="smhp-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    env = _environment(work)
    report: dict[str, Any] = {
        "started": date.today().isoformat(),
        "machine": {
            "host": platform.node(),
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "end": args.end.isoformat(),
        "scales": {},
    }
    warehouse = None
    try:
        for factor in args.scales:
            print(f"scale {factor}: pipeline …", file=sys.stderr, flush=True)
            part: dict[str, Any] = {"load_before": os.getloadavg()}
            result = scale.run_scale(factor, work, args.end, env)
            part["pipeline"] = result.as_json()
            warehouse = work / f"scale-{factor}" / "warehouse.duckdb"
            seeds = work / f"scale-{factor}" / "seeds"
            scaled = dict(env, SMHP_SEEDS_DIR=str(seeds)) if factor > 1 else env
            for name, key in (("queries", "queries_ms"), ("views", "page_views")):
                print(f"scale {factor}: dashboard {name} …", file=sys.stderr, flush=True)
                part[key] = _in_own_process(name, warehouse, args.runs, scaled)
            report["scales"][str(factor)] = part
            _save(report, out)
        if args.sessions and warehouse is not None:
            factor = args.sessions_scale or args.scales[0]
            folder = work / f"scale-{factor}"
            print(f"scale {factor}: sessions {args.sessions} …", file=sys.stderr, flush=True)
            report["sessions"] = serving.sessions_through_layout(
                folder / "warehouse.duckdb",
                args.sessions,
                args.switches,
                args.processes,
                work / "layout",
                folder / "seeds" if factor > 1 else None,
            ) | {"scale": factor}
            _save(report, out)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return report


def _in_own_process(part: str, warehouse: Path, runs: int, env: dict[str, str]) -> Any:
    """``bench/run.py --part PART`` in a process of its own: the seeds folder of a scale
    (``SMHP_SEEDS_DIR``) is read once per process, and each part starts with cold caches."""
    args = [sys.executable, __file__, "--part", part, str(warehouse), "--runs", str(runs)]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{part} on {warehouse} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def _part(part: str, warehouse: Path, runs: int) -> int:
    """One measuring part, its figures as JSON on stdout (``_in_own_process``)."""
    if part == "queries":
        result = queries.query_times(warehouse, runs)
    else:
        result = serving.page_view_times(warehouse, runs)
    print(json.dumps(result))
    return 0


def _p95(values: dict[str, dict]) -> float | None:
    return max((v["p95"] for v in values.values()), default=None)


def summary(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, target) rows of the printed table."""
    rows: list[tuple[str, str, str]] = []
    for factor, part in report["scales"].items():
        p = part["pipeline"]
        full, inc, noop, ratios = p["full"], p["incremental"], p["nothing_new"], p["ratios"]
        tag = {"1": "city", "45": "national"}.get(factor, f"scale {factor}")
        worst_view = max(v["wall_ms"]["p95"] for v in part["page_views"]["pages"].values())
        rows += [
            (f"[{tag}] rows / files", f"{p['rows']:,} / {p['files']:,}", ""),
            (f"[{tag}] generate (s)", f"{p['generate']['wall_s']:.1f}", ""),
            (
                f"[{tag}] full nightly (s)",
                f"{full['wall_s']:.1f} ({_stages(full['stages_s'], '.1f')})",
                target_for(f"{tag} full nightly (s)"),
            ),
            (
                f"[{tag}] full nightly peak memory (MiB)",
                f"{max(full['peak_mib'].values()):.0f} ({_stages(full['peak_mib'], '.0f')})",
                target_for(f"{tag} peak memory (MiB)"),
            ),
            (
                f"[{tag}] one-night incremental (s)",
                f"{inc['wall_s']:.1f} ({p['delta_files']} files; {inc['build']}; "
                f"{_stages(inc['stages_s'], '.1f')})",
                target_for("one-night incremental (s)"),
            ),
            (f"[{tag}] incremental peak memory (MiB)", f"{max(inc['peak_mib'].values()):.0f}", ""),
            (f"[{tag}] nothing new (s)", f"{noop['wall_s']:.1f}", target_for("nothing new (s)")),
            (f"[{tag}] parse floor (s)", f"{p['parse_floor']['seconds']:.2f}", ""),
            (
                f"[{tag}] ingest / parse floor",
                f"{ratios['ingest_over_parse_floor']:.2f}",
                target_for("ingest / parse floor"),
            ),
            (
                f"[{tag}] pandas reference: read + compute (s)",
                f"{p['pandas']['read_s']:.1f} + {p['pandas']['compute_s']:.2f}",
                "",
            ),
            (
                f"[{tag}] pandas / smhp, files to metrics",
                f"{ratios['pandas_over_smhp_files_to_metrics']:.2f} (at most "
                f"{ratios.get('pandas_over_parse_floor', 0):.2f}: pandas / the parse floor)",
                "",
            ),
            (
                f"[{tag}] pandas compute / dbt metric models",
                f"{ratios['pandas_over_dbt_metric_models']:.2f} "
                f"({p['metric_models_s']:.1f} s of models)",
                "",
            ),
            (
                f"[{tag}] pandas compute / DuckDB SQL, the same metrics",
                f"{ratios['pandas_over_duckdb_compute']:.1f} ({p['duckdb']['compute_s']:.2f} s)",
                target_for("pandas / DuckDB, the same metrics") if tag == "national" else "",
            ),
            (
                f"[{tag}] slowest dashboard query p95 (ms)",
                f"{_p95(part['queries_ms']):.0f}",
                target_for("dashboard query p95 (ms)"),
            ),
            (
                f"[{tag}] slowest cached page view p95 (ms)",
                f"{worst_view:.0f}",
                target_for("cached page view p95 (ms)"),
            ),
        ]
    sessions = report.get("sessions") or {}
    for kind, label in (("by_sessions", "browser"), ("over_the_wire", "over the wire")):
        for n, s in sessions.get(kind, {}).items():
            if "failed" in s:
                rows.append((f"{n} sessions ({label})", f"failed: {s['failed'][:80]}", ""))
                continue
            rows.append(
                (
                    f"[scale {sessions['scale']}, {sessions['processes']} processes] "
                    f"{n} sessions ({label}): page switch p50 / p95 (ms)",
                    f"{s['switch_ms']['p50']} / {s['switch_ms']['p95']} "
                    f"({len(s['errors'])} errors)",
                    target_for(f"{n} sessions page switch p95 (ms)"),
                )
            )
            if s.get("server_ms", {}).get("wall", {}).get("n"):
                wall, cpu = s["server_ms"]["wall"], s["server_ms"]["cpu"]
                rows.append(
                    (
                        "  of which the server's rerun, wall p50 / p95 (cpu p95) (ms)",
                        f"{wall['p50']} / {wall['p95']} ({cpu['p95']}; {wall['n']} reruns)",
                        "",
                    )
                )
            if s.get("cpu_s"):
                rows.append(_cpu_row(s, report["machine"]["cores"] or 1))
    return rows


def _cpu_row(run: dict[str, Any], cores: int) -> tuple[str, str, str]:
    """Where a sessions run's CPU went, per page switch, and the least time its switches
    need when they all come at once on these cores (every switch's CPU over the cores)."""
    per_switch = run["cpu_s_per_switch"]
    shares = " / ".join(
        f"{kind} {seconds / max(run['switch_ms']['n'], 1):.2f}"
        for kind, seconds in run["cpu_s"].items()
        if seconds
    )
    at_once = run["sessions"] * per_switch / cores
    return (
        f"  CPU per page switch (s); {run['sessions']} at once on {cores} cores need ≥",
        f"{per_switch:.2f} ({shares}); {at_once:.1f} s",
        "",
    )


def _stages(values: dict[str, float], spec: str) -> str:
    return ", ".join(f"{name} {value:{spec}}" for name, value in values.items())


def target_for(name: str) -> str:
    if name not in TARGETS:
        return ""
    return f"{'≥' if name in AT_LEAST else '≤'} {TARGETS[name]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,45", help="comma-separated (default 1,45)")
    parser.add_argument("--sessions", default="1,10,50", help="comma-separated; '' = none")
    parser.add_argument(
        "--sessions-scale",
        type=int,
        help="the scale whose warehouse the sessions use (default: the first of --scales; "
        "50 browsers on this machine beside a national warehouse's pages exhaust 24 GiB)",
    )
    parser.add_argument("--switches", type=int, default=5, help="page switches per session")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="dashboards")
    parser.add_argument(
        "--runs",
        type=int,
        default=40,
        help="timed calls per query/page (p95 by nearest rank needs 20 or more to be other "
        "than the slowest call)",
    )
    parser.add_argument("--end", type=date.fromisoformat, default=PINNED_DEMO_END)
    parser.add_argument("--work", help="work folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", help="JSON file (default bench/results/<date>-<host>.json)")
    parser.add_argument("--part", nargs=2, metavar=("PART", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        return _part(args.part[0], Path(args.part[1]), args.runs)
    args.scales = [int(s) for s in args.scales.split(",") if s]
    args.sessions = [int(s) for s in args.sessions.split(",") if s]
    if args.sessions_scale and args.sessions_scale not in args.scales:
        parser.error("--sessions-scale must be one of --scales")
    out = Path(args.out or ROOT / "bench" / "results" / f"{date.today()}-{platform.node()}.json")
    report = run(args, out)
    rows = summary(report)
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  value  (target)")
    for figure, value, target in rows:
        print(f"{figure:<{width}}  {value}" + (f"  ({target})" if target else ""))
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
