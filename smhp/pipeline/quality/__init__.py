"""Great Expectations quality gates on the candidate warehouse, before it is published.

Each suite is ``expectations/<suite>.json`` (a GX 1.x ExpectationSuite, versioned with the
code) whose ``meta.frame.table`` names the table it validates: a data frame the dbt
project builds for it (``pipeline/models/quality/qa_<suite>.sql``, with lineage and tests)
or a fact table as it is. Every expectation carries ``meta.severity`` (``error`` blocks
publishing, ``warning`` publishes and is shown) and ``meta.why`` (the sentence a data
provider or on-call person can act on).

One job per module:

* :mod:`~smhp.pipeline.quality.suites` — which suites there are and the data frame of each;
* :mod:`~smhp.pipeline.quality.gx` — running GX on those frames;
* :mod:`~smhp.pipeline.quality.report` — results: what a check observed, as a short text
  that never copies an identifier;
* :mod:`~smhp.pipeline.quality.worker` — the pre-warmed GX subprocess of a nightly run
  (``python -m smhp.pipeline.quality serve``);
* :mod:`~smhp.pipeline.quality.cli` — ``python -m smhp.pipeline.quality check FILE``;
* :mod:`~smhp.pipeline.quality.freshness` — how current each source is: the one definition
  used by the nightly run and the dashboard.

Why this shape:

* GX's SQL datasource fails on DuckDB (upstream issue 11579), so each frame is read with
  the duckdb client (read-only) and validated as a pandas data frame in an *ephemeral*
  context: nothing is written beside the warehouse, and nothing goes to the network
  (``GX_ANALYTICS_ENABLED=False`` is set before GX is imported).
* Aggregates (volume ratios, ALL against institutions, month gaps) are computed in dbt, so
  a suite stays a readable list of bounds and the frames stay small.
* Importing GX takes 5–8 s, so the nightly run starts the worker at its beginning: the
  import overlaps ingest and ``dbt build``, and the worker answers one request when the
  candidate is ready.
"""

from __future__ import annotations

import os

# GX must never try to reach its analytics service; set before any import of GX.
os.environ["GX_ANALYTICS_ENABLED"] = "False"

from smhp.pipeline.quality.gx import validate  # noqa: E402
from smhp.pipeline.quality.report import (  # noqa: E402
    ROW_LABEL,
    CheckResult,
    expectation_name,
    failed_errors,
    failed_warnings,
)
from smhp.pipeline.quality.suites import (  # noqa: E402
    EXPECTATIONS_DIR,
    SEVERITIES,
    QualityError,
    Suite,
    load_suites,
)
from smhp.pipeline.quality.worker import GxWorker, GxWorkerError  # noqa: E402

__all__ = [
    "EXPECTATIONS_DIR",
    "ROW_LABEL",
    "SEVERITIES",
    "CheckResult",
    "GxWorker",
    "GxWorkerError",
    "QualityError",
    "Suite",
    "expectation_name",
    "failed_errors",
    "failed_warnings",
    "load_suites",
    "validate",
]
