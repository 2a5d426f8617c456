"""What runs after the nightly run has published (or failed to): the board packs and alerts.

Add-ons are optional by design. The warehouse is the product; a pack that will not render
or a mail server that is down must never hold back, or undo, tonight's data. So each
add-on runs after the run's outcome is settled and saved, in turn, timed, with any
exception caught and recorded: one line in the run log, an entry in the run's history
record (``RunRecord.addons``), which the next publish shows as ``ops.run_addons``.

An add-on is a function ``after_run(run: FinishedRun) -> str`` named in ``ADD_ONS`` as
``"module:function"``: it returns one summary line for the run log and raises on failure.
Naming it as text keeps the nightly run free of the add-ons' heavy imports (a PDF renderer,
a browser for charts) until they are needed.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from smhp.settings import Settings, SettingsError

OK, FAILED = "ok", "failed"

ADD_ONS: tuple[tuple[str, str], ...] = (
    ("packs", "smhp.packs.nightly:after_run"),
    ("alerts", "smhp.alerts.nightly:after_run"),
)
"""The add-ons, in the order they run: packs first, so that alerts can link to them."""


def selected(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """The add-ons named by ``SMHP_ADDONS``, in their running order; an unknown name is an
    error (a typo would silently switch an add-on off)."""
    known = dict(ADD_ONS)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise SettingsError(
            f"SMHP_ADDONS: unknown add-on {', '.join(unknown)} (add-ons: {', '.join(known)})"
        )
    return tuple((name, target) for name, target in ADD_ONS if name in names)


@dataclass(frozen=True)
class FinishedRun:
    """A nightly run whose outcome is settled and saved: what an add-on may act on."""

    run_id: str
    outcome: str  # smhp.pipeline.history: published | published_with_warnings | blocked | failed
    reason: str | None  # why it did not publish, or the warnings
    published: bool  # new data published by this run
    snapshot: Path | None  # the snapshot file this run published (None: nothing new)
    settings: Settings
    today: date


@dataclass(frozen=True)
class AddOnOutcome:
    """One add-on's result for one run, as ``ops.run_addons`` shows it."""

    addon: str
    status: str  # OK or FAILED
    detail: str  # the add-on's summary line, or the error
    seconds: float

    def as_row(self) -> dict[str, object]:
        return {
            "addon": self.addon,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 3),
        }


AddOn = Callable[[FinishedRun], str]


def _resolve(target: str) -> AddOn | None:
    """The function named ``module:function``; None when its module is not installed."""
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return None  # the add-on itself is absent (not a broken import inside it)
        raise
    return getattr(module, function)


def run_addons(
    run: FinishedRun,
    add_ons: Sequence[tuple[str, str]] = ADD_ONS,
    line: Callable[[str], None] = print,
) -> list[AddOnOutcome]:
    """Run every add-on after ``run``; never raises. Each outcome is also written as one
    line (``line``: the run's reporter)."""
    outcomes: list[AddOnOutcome] = []
    for name, target in add_ons:
        started = time.perf_counter()
        try:
            function = _resolve(target)
            if function is None:
                continue
            detail, status = function(run), OK
        except Exception as exc:  # an add-on must never change the run's outcome
            detail, status = f"{type(exc).__name__}: {exc}", FAILED
        outcome = AddOnOutcome(name, status, detail, time.perf_counter() - started)
        outcomes.append(outcome)
        said = "" if status == OK else "FAILED (the published data is unaffected): "
        line(f"  {name}: {said}{detail} ({outcome.seconds:.1f} s)")
    return outcomes
