"""What a determined reader can work out from every released figure of one measure: the
linear-programming audit statistical offices run on rounded tables, as pure functions.

A released count tells a reader an interval, not a number: a count shown as ``r`` (a
multiple of 5) lies in ``[r - 2, r + 2]`` (and is at least 8), ``*`` means 1 to 7, 0 and
an exact figure are themselves. Released figures are also tied to each other: a quarter
is the sum of its three months, the partnership the sum of its institutions (for counts
of records), and a count of distinct students over a period is at most the sum over its
parts and at least any part. Combining every interval with every such relation, a reader
can narrow a figure, and sometimes pin it: that is differencing ("total minus parts").

``Family`` holds the released figures of one measure over a grid of cells (release
period x institution or ``ALL``); ``Audit`` turns it into a linear programme and answers
the range a reader can derive for any cell, atom or difference (minimise and maximise
with HiGHS: one model per audit, each range a new objective solved from the last basis).
Two uses, one engine:

- the **defence** (``exact_is_safe``): the one cell the spec allows to be exact is shown
  exactly only if its exact value lies strictly inside the range the other released
  figures already allow. A polytope's slice at an interior value pins nothing that is not
  pinned at every value (the width of a variable's range is concave in the sliced value),
  so an exact figure inside the range reveals no other exact figure; at an end of the
  range it would pin every part (e.g. 3947 = 2125 + 1820 with both parts at their upper
  end). Otherwise the cell is rounded like any other.
- the **attack** (tests): the derivable range of every released cell, every atom, every
  difference of nested periods and every partnership-minus-institution complement, which
  must never be a single non-zero value outside the allowed cell.

Relations among *different* measures (a "met" count is at most its base) are not used;
the audit is per measure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import highspy
import numpy as np
from scipy.sparse import csr_matrix

from smhp.reporting.disclosure import SMALLEST_SHOWN, SUPPRESSED, Shown
from smhp.reporting.release_periods import ReleasePeriod

ALL = "ALL"


@dataclass(frozen=True, order=True)
class Cell:
    """One released figure's place: a release period and an institution code or ``ALL``."""

    period: ReleasePeriod
    institution: str


def interval(shown: Shown, exact: bool = False) -> tuple[float, float]:
    """The exact values a released count is consistent with (inclusive)."""
    if shown == SUPPRESSED:
        return 1.0, float(SMALLEST_SHOWN - 1)
    if shown is None:
        return 0.0, math.inf
    value = float(shown)
    if exact or value == 0:
        return value, value
    return max(value - 2, float(SMALLEST_SHOWN)), value + 2


@dataclass
class Family:
    """Every released figure of one measure.

    ``additive``: a count of records (referrals, contacts), which sums over months and
    over institutions; otherwise a count of distinct students, which only obeys the
    subset and union bounds. ``shown`` maps each released cell to its figure and
    ``exact`` names the cells released exactly.
    """

    measure: str
    additive: bool
    institutions: tuple[str, ...]
    shown: dict[Cell, Shown]
    exact: set[Cell] = field(default_factory=set)


def _months(periods: Iterable[ReleasePeriod]) -> list[ReleasePeriod]:
    return sorted({m for p in periods for m in p.months()})


class Audit:
    """The linear programme of a family: ``range_of`` gives what a reader can derive.

    Variables: for an additive family one per (month, institution) atom, every cell a
    sum of atoms; for a distinct-count family one per cell, tied by the subset and union
    bounds. ``free`` cells keep no bound of their own (the defence asks what the others
    allow for one cell).
    """

    def __init__(self, family: Family, free: Iterable[Cell] = ()) -> None:
        self.family = family
        free = set(free)
        self._rows: list[dict[int, float]] = []
        self._lo: list[float] = []
        self._hi: list[float] = []
        periods = sorted({c.period for c in family.shown})
        if family.additive:
            months = _months(periods)
            self._atom = {
                (m, i): n
                for n, (m, i) in enumerate((m, i) for m in months for i in family.institutions)
            }
            self.size = len(self._atom)
            self._bounds = [(0.0, math.inf)] * self.size
            for cell, figure in family.shown.items():
                if cell in free:
                    continue
                lo, hi = interval(figure, cell in family.exact)
                self._add(self.vector(cell), lo, hi)
        else:
            cells = sorted(family.shown)
            self._var = {cell: n for n, cell in enumerate(cells)}
            self.size = len(cells)
            self._bounds = [
                (0.0, math.inf) if c in free else interval(family.shown[c], c in family.exact)
                for c in cells
            ]
            self._distinct_relations(periods)

    # --- building ------------------------------------------------------------------------

    def _add(self, row: Mapping[int, float], lo: float, hi: float) -> None:
        self._rows.append(dict(row))
        self._lo.append(lo)
        self._hi.append(hi)

    def _distinct_relations(self, periods: list[ReleasePeriod]) -> None:
        """Subset and union bounds among cells of distinct students."""
        places = (*self.family.institutions, ALL)
        var = self._var
        for inst in places:
            for p in periods:
                whole = var.get(Cell(p, inst))
                if whole is None:
                    continue
                parts = [q for q in periods if q != p and p.contains(q)]
                for q in parts:  # a part's students are among the whole's
                    if (n := var.get(Cell(q, inst))) is not None:
                        self._add({n: 1.0, whole: -1.0}, -math.inf, 0.0)
                for tiling in _tilings(p, parts):  # the whole is at most the sum of a tiling
                    ids = [var.get(Cell(q, inst)) for q in tiling]
                    if None not in ids:
                        row = {whole: 1.0}
                        for n in ids:
                            row[n] = row.get(n, 0.0) - 1.0
                        self._add(row, -math.inf, 0.0)
        for p in periods:  # each institution's students are among the partnership's
            total = var.get(Cell(p, ALL))
            ids = [var.get(Cell(p, i)) for i in self.family.institutions]
            if total is None or None in ids:
                continue
            for n in ids:
                self._add({n: 1.0, total: -1.0}, -math.inf, 0.0)
            row = {total: 1.0, **{n: -1.0 for n in ids}}
            self._add(row, -math.inf, 0.0)

    def vector(self, cell: Cell) -> dict[int, float]:
        """The linear form of a cell's count over the variables."""
        if not self.family.additive:
            return {self._var[cell]: 1.0}
        places = self.family.institutions if cell.institution == ALL else (cell.institution,)
        return {self._atom[(m, i)]: 1.0 for m in cell.period.months() for i in places}

    def atoms(self) -> dict[tuple[ReleasePeriod, str], dict[int, float]]:
        """Each (month, institution) atom of an additive family as a linear form."""
        return {key: {n: 1.0} for key, n in self._atom.items()} if self.family.additive else {}

    # --- solving -------------------------------------------------------------------------

    def _matrices(self) -> tuple[csr_matrix, np.ndarray]:
        rows, cols, vals, b = [], [], [], []
        for row, lo, hi in zip(self._rows, self._lo, self._hi, strict=True):
            if hi < math.inf:
                for k, v in row.items():
                    rows.append(len(b))
                    cols.append(k)
                    vals.append(v)
                b.append(hi)
            if lo > -math.inf:
                for k, v in row.items():
                    rows.append(len(b))
                    cols.append(k)
                    vals.append(-v)
                b.append(-lo)
        matrix = csr_matrix((vals, (rows, cols)), shape=(len(b), self.size))
        return matrix, np.array(b, dtype=float)

    def _solver(self) -> highspy.Highs:
        """The released figures as one HiGHS model, built on the first range asked: every
        range only changes the objective, and HiGHS starts from the last basis (an audit
        asks thousands of ranges of the same constraints)."""
        if getattr(self, "_highs", None) is None:
            a, b = self._matrices()
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = self.size, len(b)
            lp.col_cost_ = np.zeros(self.size)
            lp.col_lower_ = np.array([lo for lo, _ in self._bounds], dtype=float)
            lp.col_upper_ = np.array(
                [highspy.kHighsInf if hi == math.inf else hi for _, hi in self._bounds],
                dtype=float,
            )
            lp.row_lower_ = np.full(len(b), -highspy.kHighsInf)
            lp.row_upper_ = b
            lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
            lp.a_matrix_.start_ = a.indptr.astype(np.int32)
            lp.a_matrix_.index_ = a.indices.astype(np.int32)
            lp.a_matrix_.value_ = a.data.astype(float)
            highs = highspy.Highs()
            highs.setOptionValue("output_flag", False)
            highs.passModel(lp)
            self._highs = highs
            self._columns = np.arange(self.size, dtype=np.int32)
        return self._highs

    def range_of(self, form: Mapping[int, float]) -> tuple[float, float]:
        """The smallest and largest value of ``form`` consistent with every released
        figure (an unbounded maximum is ``inf``)."""
        highs = self._solver()
        c = np.zeros(self.size)
        for k, v in form.items():
            c[k] = v
        highs.changeColsCost(self.size, self._columns, c)
        ends = []
        for sense, unbounded in (
            (highspy.ObjSense.kMinimize, -math.inf),
            (highspy.ObjSense.kMaximize, math.inf),
        ):
            highs.changeObjectiveSense(sense)
            highs.run()
            status = highs.getModelStatus()
            # the released figures always admit the true counts, so the model is feasible:
            # "unbounded or infeasible" (from presolve) is unbounded
            if status in (
                highspy.HighsModelStatus.kUnbounded,
                highspy.HighsModelStatus.kUnboundedOrInfeasible,
            ):
                ends.append(unbounded)
            elif status != highspy.HighsModelStatus.kOptimal:
                message = highs.modelStatusToString(status)
                raise RuntimeError(f"{self.family.measure}: audit LP failed: {message}")
            else:
                ends.append(highs.getInfo().objective_function_value)
        return ends[0], ends[1]


def _tilings(whole: ReleasePeriod, parts: list[ReleasePeriod]) -> list[list[ReleasePeriod]]:
    """Ways to cover ``whole`` exactly with released parts: by months, and by the largest
    parts of each kind with months filling the gaps."""
    months = [q for q in parts if q.kind == "month"]
    out = [months] if len(months) == len(whole.months()) else []
    for kind in ("quarter", "academic_year"):
        big = sorted(q for q in parts if q.kind == kind)
        if not big:
            continue
        covered = {m for q in big for m in q.months()}
        rest = [m for m in months if m not in covered]
        if len(covered) + len(rest) == len(whole.months()):
            out.append(big + rest)
    return out


def exact_is_safe(family: Family, cell: Cell, value: float) -> bool:
    """Whether ``cell`` may be released as exactly ``value``: the other released figures
    must already allow a value below and a value above it (see the module docstring)."""
    audit = Audit(family, free=[cell])
    lo, hi = audit.range_of(audit.vector(cell))
    return math.ceil(lo - 1e-6) < value < math.floor(hi + 1e-6)


def pinned(lo: float, hi: float) -> bool:
    """Whether a derived range leaves one whole number only."""
    return math.floor(hi + 1e-6) == math.ceil(lo - 1e-6)
