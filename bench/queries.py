"""Server-side time of every dashboard query, uncached, on a published warehouse.

    .venv/bin/python bench/queries.py --warehouse var/demo/warehouse.duckdb

Each query function of ``dashboard.data`` and ``dashboard.queries`` is called as its page
calls it on first load (default filters, the board's scope), ``--runs`` times after one
warm-up call; the table gives the median, fastest and slowest wall time per function,
each call including its own open and close of the snapshot (what a page pays on a cache
miss), with the snapshot held open in the process as the dashboard server holds it
(``smhp.warehouse.hold_published``). The goal is under 100 ms per query. Not a test:
timings depend on the machine.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from dashboard import data  # noqa: E402
from dashboard.catalog import BOARD_KEY_METRICS, BOARD_TILES  # noqa: E402
from dashboard.queries import board, equity, funder, quality, service  # noqa: E402
from dashboard.series import month_end, window_start  # noqa: E402
from smhp.access import BOARD_SCOPE, Scope  # noqa: E402
from smhp.reporting.catalogue import with_bases  # noqa: E402
from smhp.reporting.release_periods import FUNDED, released_periods  # noqa: E402
from smhp.warehouse import hold_published, resolve_published  # noqa: E402

GOAL_MS = 100.0


@dataclass(frozen=True)
class Case:
    """One query function called with one page's first-load arguments."""

    page: str
    name: str
    call: Callable[[], object]


def cases(snapshot: str, scope: Scope) -> list[Case]:
    """Every query of every page, with the arguments of the page's first load."""
    as_of = data.as_of(snapshot, scope)
    month = as_of.complete_month
    assert month is not None, "the warehouse holds no complete month"
    day = as_of.latest_extract or as_of.data_through
    start, end = window_start(month, 12), month_end(month)
    first = window_start(month, 24)
    metrics = with_bases(tuple(sorted(set(BOARD_TILES) | set(BOARD_KEY_METRICS))))
    uol = scope.narrowed_to("UOL")
    year = released_periods(FUNDED.start, day, "academic_year")[0]
    f_scope = funder.with_scope_of(scope, None)
    return [
        Case("banner", "as_of", lambda: data.as_of(snapshot, scope)),
        Case("banner", "institution_joins", lambda: data.institution_joins(snapshot, scope)),
        Case("banner", "last_run", lambda: quality.last_run(snapshot)),
        Case("banner", "stale_sources", lambda: quality.stale_sources(snapshot)),
        Case("board", "monthly_metrics", lambda: data.monthly_metrics(snapshot, scope, metrics)),
        Case(
            "board",
            "institution_monthly",
            lambda: board.institution_monthly(
                snapshot, scope, "referrals_per_1000_students", "referrals_received", first, month
            ),
        ),
        Case("service", "services", lambda: service.services(snapshot)),
        Case(
            "service",
            "referral_funnel",
            lambda: service.referral_funnel(snapshot, scope, start, end, None),
        ),
        Case(
            "service",
            "wait_summary",
            lambda: service.wait_summary(snapshot, scope, start, end, None),
        ),
        Case(
            "service", "wait_weeks", lambda: service.wait_weeks(snapshot, scope, start, end, None)
        ),
        Case("service", "liaison_mix", lambda: service.liaison_mix(snapshot, scope, start, end)),
        Case(
            "service", "ucope_pathway", lambda: service.ucope_pathway(snapshot, scope, start, end)
        ),
        Case(
            "service",
            "waiting_by_institution",
            lambda: service.waiting_by_institution(snapshot, scope, day, None),
        ),
        Case(
            "service",
            "waiting_by_month",
            lambda: service.waiting_by_month(snapshot, uol, day, None),
        ),
        Case(
            "service",
            "waiting_worklist",
            lambda: service.waiting_worklist(snapshot, uol, day, None, None),
        ),
        Case("funder", "totals", lambda: funder.totals(snapshot, f_scope, FUNDED)),
        Case("funder", "standards", lambda: funder.standards(snapshot, f_scope, FUNDED)),
        Case("funder", "by_year", lambda: funder.by_year(snapshot, f_scope, FUNDED.start, day)),
        Case(
            "funder",
            "by_institution",
            lambda: funder.by_institution(snapshot, f_scope, FUNDED),
        ),
        *(
            Case(
                "equity",
                f"rates ({dim})",
                lambda dim=dim: equity.rates(snapshot, scope, year, dim),
            )
            for dim in equity.DIMENSIONS
        ),
        Case("quality", "has_run_history", lambda: quality.has_run_history(snapshot)),
        Case("quality", "freshness", lambda: quality.freshness(snapshot)),
        Case("quality", "recent_runs", lambda: quality.recent_runs(snapshot)),
        Case("quality", "run_stages", lambda: quality.run_stages(snapshot)),
        Case("quality", "rejected_files", lambda: quality.rejected_files(snapshot)),
        Case("quality", "quarantine_by_reason", lambda: quality.quarantine_by_reason(snapshot)),
        Case("quality", "load_summary", lambda: quality.load_summary(snapshot)),
        Case("quality", "latest_checks", lambda: quality.latest_checks(snapshot)),
    ]


def measure(case: Case, runs: int) -> list[float]:
    """Wall times in milliseconds of ``runs`` calls, after one warm-up call."""
    case.call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        case.call()
        times.append(1000 * (time.perf_counter() - t0))
    return times


def query_times(warehouse: str | Path, runs: int = 15) -> dict[str, dict]:
    """``page/query`` -> wall milliseconds (p50, p95, max over ``runs`` calls after a
    warm-up), every query uncached with the board's scope (``bench/run.py``)."""
    hold_published()  # as the dashboard server reads
    snapshot = str(resolve_published(warehouse))
    has_history = quality.has_run_history(snapshot)
    out = {}
    for case in cases(snapshot, BOARD_SCOPE):
        if not has_history and case.name in ("recent_runs", "run_stages", "latest_checks"):
            continue
        times = sorted(measure(case, runs))
        out[f"{case.page}/{case.name}"] = {
            "p50": round(statistics.median(times), 1),
            "p95": round(times[min(len(times) - 1, math.ceil(0.95 * len(times)) - 1)], 1),
            "max": round(times[-1], 1),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", default="var/demo/warehouse.duckdb")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    snapshot = str(resolve_published(args.warehouse))
    has_history = quality.has_run_history(snapshot)
    print(f"warehouse {snapshot}; median of {args.runs} runs per query (ms)\n")
    print(f"{'page':<8} {'query':<30} {'median':>8} {'min':>8} {'max':>8}")
    slow = []
    for case in cases(snapshot, BOARD_SCOPE):
        if not has_history and case.name in ("recent_runs", "run_stages", "latest_checks"):
            print(f"{case.page:<8} {case.name:<30} {'(no ops schema)':>26}")
            continue
        times = measure(case, args.runs)
        median = statistics.median(times)
        flag = "  over the goal" if median > GOAL_MS else ""
        print(
            f"{case.page:<8} {case.name:<30} {median:8.1f} {min(times):8.1f} {max(times):8.1f}"
            f"{flag}"
        )
        if median > GOAL_MS:
            slow.append(case.name)
    print(f"\ngoal: under {GOAL_MS:.0f} ms each; {len(slow)} over: {', '.join(slow) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
