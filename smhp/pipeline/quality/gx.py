"""Running Great Expectations on the suites' data frames.

Frames are read first (:func:`~smhp.pipeline.quality.suites.read_frames`, one read-only
connection, closed before GX runs), then validated as pandas data frames in an
*ephemeral* GX context: nothing is written beside the warehouse, nothing goes to the
network. GX's own severities are ``critical`` and ``warning``; the suites say ``error``
and ``warning`` (an ``error`` blocks publishing).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smhp.pipeline.quality.report import (
    CheckResult,
    check_result,
    observed,
    safe_message,
    unevaluated,
)
from smhp.pipeline.quality.suites import EXPECTATIONS_DIR, Suite, load_suites, read_frames

_GX_SEVERITY = {"error": "critical", "warning": "warning"}


def validate(database: Path, expectations_dir: Path = EXPECTATIONS_DIR) -> list[CheckResult]:
    """Validate the candidate ``database`` against every suite of ``expectations_dir``.

    Opens the database read-only (resolving a link to its snapshot), reads every frame,
    closes it, then validates each frame with GX in an ephemeral context. Returns every
    expectation's result, suite by suite in file-name order. A frame that cannot be read
    gives a failed result for each of its expectations (with their own severities), so
    a missing frame blocks where it guards something blocking.
    """
    suites = load_suites(expectations_dir)
    frames = read_frames(Path(database), suites)
    gx = import_gx()
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
            results += unevaluated(suite, f"frame not built: {frame}")
            continue
        try:
            results += _validate_suite(gx, context, batch, suite, frame)
        except Exception as exc:  # a GX failure on one suite must not hide the others
            results += unevaluated(suite, f"GX failed: {safe_message(exc)}")
    return results


def import_gx() -> Any:
    """Import GX (5–8 s the first time) with analytics off."""
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    import great_expectations as gx

    return gx


def _silence_progress_bars(context: Any) -> None:
    """GX draws a tqdm bar per validation on stderr: noise in a nightly log."""
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)


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
            success, seen = False, "no result from GX"
        else:
            success, seen = bool(result.success), observed(result, exp, frame)
        results.append(check_result(suite, exp, success, seen))
    return results
