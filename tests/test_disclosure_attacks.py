"""Disclosure control attacked the way a determined funder would (issue 8), on the demo.

Every figure released to funders is rebuilt for every release period that has ended (each
month, quarter and academic year, and the funded period) and every institution and the
partnership (``smhp.reporting.released``, the same cell functions as the pages; the first test holds
them equal to what the funder page and ``smhp impact --disclosed`` show). Then:

- **every pair of periods**: the difference of a period and each period inside it;
- **complements**: the partnership minus an institution, for every period;
- **total minus parts**: every period less all but one of its parts, for every way to cut
  it into released parts (months; quarters and months; academic years and months;
  institutions);
- **back-calculation** from every released percentage and rate;
- **the joint attack**: every released figure's interval and every relation at once, as a
  linear programme (``smhp.reporting.disclosure_audit``), around the one exact cell;

and no attack may give a count of 1-7, or any exact count other than the allowed one (the
partnership over exactly the funded period) and zeros (which the rule shows as 0).
"""

from __future__ import annotations

import itertools
import math
import subprocess
from datetime import date
from pathlib import Path

import pytest

from dashboard.queries import equity, funder
from smhp.access import FUNDER_SCOPE
from smhp.reporting.disclosure import SUPPRESSED, percentage, rate, suppress_count
from smhp.reporting.disclosure_audit import (
    ALL,
    Audit,
    Cell,
    Family,
    exact_is_safe,
    interval,
    pinned,
)
from smhp.reporting.release_periods import FUNDED, ReleasePeriod, of_range, parse
from smhp.reporting.released import MEASURES, exact_measures, family
from smhp.warehouse import open_published, release_date

ALLOWED = Cell(FUNDED, ALL)


@pytest.fixture(scope="module")
def released(demo_warehouse: Path) -> dict[str, tuple[Family, dict[Cell, int]]]:
    """Every measure's released figures as the outputs show them, and the exact counts."""
    con = open_published(demo_warehouse)
    try:
        as_of = release_date(con)
        assert as_of is not None
        safe = exact_measures(con)
        out = {}
        for measure in MEASURES:
            exact = {ALLOWED} if measure in safe else set()
            out[measure] = family(con, measure, as_of, exact)
        return out
    finally:
        con.close()


def _violation(fam: Family, what: str, lo: float, hi: float) -> str | None:
    """A derived range is a disclosure if it pins a non-zero count or lies within 1-7."""
    if pinned(lo, hi) and round(lo) != 0:
        return f"{fam.measure}: {what} = {round(lo)} exactly"
    if lo >= 1 and math.floor(hi + 1e-6) <= 7 and pinned(lo, hi):
        return f"{fam.measure}: {what} in 1-7"
    return None


def test_one_institutions_months_and_quarters_are_never_released(demo_warehouse: Path) -> None:
    scope = funder.with_scope_of(FUNDER_SCOPE, "UOL")
    for code in ("2024-11", "2024-Q4"):
        with pytest.raises(ValueError, match="not released for one institution"):
            funder.totals(demo_warehouse, scope, parse(code))
        with pytest.raises(ValueError, match="not released for one institution"):
            equity.rates(demo_warehouse, scope, parse(code), "study_level")


def _is_allowed(fam: Family, cell: Cell) -> bool:
    return cell == ALLOWED and cell in fam.exact


def _places(fam: Family) -> tuple[str, ...]:
    return (*fam.institutions, ALL)


def _periods(fam: Family) -> list[ReleasePeriod]:
    return sorted({c.period for c in fam.shown})


# --- the released figures are the outputs' -----------------------------------------------


def test_the_audited_figures_are_the_ones_the_outputs_release(
    released: dict, demo_warehouse: Path
) -> None:
    cells = [
        (FUNDED, None),
        (FUNDED, "UOL"),
        (FUNDED, "LJMU"),
        (parse("2020/21"), None),
        (parse("2023/24"), "LIPA"),
        (parse("2021-Q1"), None),
        (parse("2024-11"), None),
    ]
    for period, inst in cells:
        scope = funder.with_scope_of(FUNDER_SCOPE, inst)
        totals = funder.totals(demo_warehouse, scope, period)
        standards = funder.standards(demo_warehouse, scope, period).set_index("standard")
        place = inst or ALL
        for measure, key in [
            ("liaison_students", "liaison_students"),
            ("ucope_students", "ucope_students"),
            ("referrals_received", "referrals_received"),
            ("referral_completed_waits", "referral_completed_waits"),
            ("referral_seen_6wk", "referral_seen_6wk"),
        ]:
            assert released[measure][0].shown[Cell(period, place)] == totals[key], (measure, period)
        for st in funder.STANDARDS:
            cell = Cell(period, place)
            assert released[st.base][0].shown[cell] == standards.loc[st.standard, "base"]
            assert released[st.met][0].shown[cell] == standards.loc[st.standard, "met"]


def test_the_funded_period_is_exact_and_nothing_else_is(released: dict) -> None:
    liaison, counts = released["liaison_students"]
    assert liaison.shown[ALLOWED] == counts[ALLOWED] == 429  # the published figure, exact
    assert released["ucope_students"][0].shown[ALLOWED] == 299
    for measure, (fam, counts) in released.items():
        for cell, shown in fam.shown.items():
            if cell in fam.exact:
                assert cell == ALLOWED, (measure, cell)
                continue
            n = counts[cell]
            assert shown == suppress_count(n), (measure, cell)
            assert shown in (0, SUPPRESSED) or shown % 5 == 0, (measure, cell, shown)


def test_smhp_impact_disclosed_releases_the_same_figures(released: dict, demo_warehouse) -> None:
    import json
    import sys

    smhp = str(Path(sys.executable).parent / "smhp")
    for code, inst in (("funded", None), ("2020/21", None), ("funded", "UOL")):
        args = [smhp, "impact", "--warehouse", str(demo_warehouse), "--period", code, "--json"]
        args += ["--disclosed"] + (["--institution", inst] if inst else [])
        shown = json.loads(subprocess.run(args, capture_output=True, check=True).stdout)
        cell = Cell(parse(code), inst or ALL)
        for measure in ("liaison_students", "ucope_students", "referrals_received"):
            assert shown[measure] == released[measure][0].shown[cell], (code, inst, measure)
    free = subprocess.run(
        [smhp, "impact", "--warehouse", str(demo_warehouse), "--disclosed"]
        + ["--from", "2019-06-01", "--to", "2022-08-01"],
        capture_output=True,
        text=True,
    )
    assert free.returncode == 2 and "not a release period" in free.stderr


# --- the attacks -------------------------------------------------------------------------


def test_no_pair_of_periods_gives_a_count_away(released: dict) -> None:
    found = []
    for fam, _ in released.values():
        periods = _periods(fam)
        for place, whole, part in itertools.product(_places(fam), periods, periods):
            if whole == part or not whole.contains(part):
                continue
            if Cell(whole, place) not in fam.shown or Cell(part, place) not in fam.shown:
                continue  # one institution's month or quarter: not released
            lo_w, hi_w = interval(fam.shown[Cell(whole, place)], Cell(whole, place) in fam.exact)
            lo_p, hi_p = interval(fam.shown[Cell(part, place)], Cell(part, place) in fam.exact)
            lo, hi = max(0.0, lo_w - hi_p), hi_w - lo_p
            if _is_allowed(fam, Cell(whole, place)) and hi_p == 0:
                continue  # the allowed figure less a zero: the allowed figure
            if problem := _violation(fam, f"{whole.code} minus {part.code} at {place}", lo, hi):
                found.append(problem)
    assert found == []


def test_no_complement_gives_a_count_away(released: dict) -> None:
    found = []
    for fam, _ in released.values():
        for period in _periods(fam):
            total = Cell(period, ALL)
            lo_t, hi_t = interval(fam.shown[total], total in fam.exact)
            for inst in fam.institutions:
                if Cell(period, inst) not in fam.shown:
                    continue  # not released for one institution
                lo_i, hi_i = interval(fam.shown[Cell(period, inst)])
                if _is_allowed(fam, total) and hi_i == 0:
                    continue
                lo, hi = max(0.0, lo_t - hi_i), hi_t - lo_i
                if problem := _violation(fam, f"{period.code}: ALL minus {inst}", lo, hi):
                    found.append(problem)
    assert found == []


def _tilings(fam: Family, whole: Cell) -> list[list[Cell]]:
    """Every way to cut a released cell into released parts."""
    periods = [
        p
        for p in _periods(fam)
        if p != whole.period
        and whole.period.contains(p)
        and Cell(p, whole.institution) in fam.shown
    ]
    months = [p for p in periods if p.kind == "month"]
    out = []
    if len(months) == len(whole.period.months()) and len(months) > 1:
        out.append([Cell(m, whole.institution) for m in months])
    for kind in ("quarter", "academic_year"):
        big = [p for p in periods if p.kind == kind]
        covered = {m for p in big for m in p.months()}
        rest = [m for m in months if m not in covered]
        if big and len(covered) + len(rest) == len(whole.period.months()):
            out.append([Cell(p, whole.institution) for p in big + rest])
    by_institution = [Cell(whole.period, i) for i in fam.institutions]
    if whole.institution == ALL and all(c in fam.shown for c in by_institution):
        out.append(by_institution)
    return out


def test_no_total_less_its_other_parts_gives_a_count_away(released: dict) -> None:
    found = []
    for fam, _ in released.values():
        for whole in fam.shown:
            lo_w, hi_w = interval(fam.shown[whole], whole in fam.exact)
            for parts in _tilings(fam, whole):
                bounds = [interval(fam.shown[c], c in fam.exact) for c in parts]
                sum_lo, sum_hi = sum(b[0] for b in bounds), sum(b[1] for b in bounds)
                for part, (lo_k, hi_k) in zip(parts, bounds, strict=True):
                    if hi_k == 0:
                        continue
                    others_hi, others_lo = sum_hi - hi_k, sum_lo - lo_k
                    lo = max(lo_k, lo_w - others_hi)  # every count: the whole <= the parts
                    hi = min(hi_k, hi_w - others_lo) if fam.additive else min(hi_k, hi_w)
                    what = f"{whole.period.code} at {whole.institution} less all but {part}"
                    if problem := _violation(fam, what, lo, hi):
                        found.append(problem)
    assert found == []


def _consistent(shown: object, base: tuple[float, float], part: tuple[float, float], fn) -> set:
    """The (part, base) pairs a released ratio is consistent with."""
    pairs = set()
    for d in range(int(base[0]), int(min(base[1], base[0] + 10)) + 1):
        for n in range(int(part[0]), int(min(part[1], d, part[0] + 10)) + 1):
            value = fn(n, d)
            same = (
                value == shown
                if isinstance(shown, str) or shown is None
                else (not isinstance(value, str) and value is not None and round(value, 1) == shown)
            )
            if same:
                pairs.add((n, d))
    return pairs


def test_no_percentage_gives_its_counts_away(released: dict) -> None:
    """Every released percentage (the funder page's standards and its share seen within 6
    weeks) as the cell functions make it (the first test holds them to the page's)."""
    found = []
    for st in funder.STANDARDS:
        standard, label = st.standard, st.label
        base_f, base_n = released[st.base]
        met_f, met_n = released[st.met]
        for cell in base_f.shown:
            exact = cell in base_f.exact and cell in met_f.exact
            shown = percentage(met_n[cell], base_n[cell], exact)
            shown = round(shown, 1) if isinstance(shown, float) else shown
            base = interval(base_f.shown[cell], cell in base_f.exact)
            part = interval(met_f.shown[cell], cell in met_f.exact)
            pairs = _consistent(shown, base, part, lambda n, d, e=exact: percentage(n, d, e))
            assert pairs, (standard, cell, shown)  # the true counts are always consistent
            if exact:
                continue  # the allowed cell: its counts are released exactly anyway
            for values, name in (({n for n, _ in pairs}, "met"), ({d for _, d in pairs}, "base")):
                if len(values) == 1 and values != {0}:
                    found.append(f"{label} {cell}: {name} = {values} from {shown}")
    assert found == []


def test_no_equity_rate_gives_its_counts_away(demo_warehouse: Path) -> None:
    found = []
    for code, inst in itertools.product(
        ("2025/26", "2024-Q4", "2026-09", "funded"), (None, "LSTM", "UOL")
    ):
        if inst is not None and parse(code).kind not in ("academic_year", "funded"):
            continue  # not released for one institution (the page does not offer it)
        scope = funder.with_scope_of(FUNDER_SCOPE, inst)
        for dimension in equity.DIMENSIONS:
            shown = equity.rates(demo_warehouse, scope, parse(code), dimension)
            for _, row in shown.iterrows():
                value = row["rate"]  # students reached per 1,000 enrolled
                if value is None:
                    continue
                base = interval(row["enrolled"])
                value = round(value, 1) if isinstance(value, float) else value
                pairs = _consistent(value, base, interval(row["reached"]), rate)
                assert pairs, (code, inst, dimension, row["band"])
                counts = {n for n, _ in pairs}
                if len(counts) == 1 and counts != {0}:
                    found.append(f"{code} {inst} {dimension} {row['band']}: {counts}")
    assert found == []


def test_the_joint_attack_pins_nothing_around_the_exact_cell(released: dict) -> None:
    """Every interval and relation at once (the linear programme), over every period that
    overlaps the funded period: every cell, every month at every institution, and every
    period less each period inside it."""
    found = []
    for measure, (fam, counts) in released.items():
        near = Family(
            fam.measure,
            fam.additive,
            fam.institutions,
            {
                c: v
                for c, v in fam.shown.items()
                if c.period.start <= FUNDED.end and c.period.end >= FUNDED.start
            },
            fam.exact,
        )
        audit = Audit(near)
        targets = {f"{c.period.code} at {c.institution}": audit.vector(c) for c in near.shown}
        zero = {  # a month of a place inside a released zero is 0: nothing to find there
            (m, c.institution) for c, v in near.shown.items() if v == 0 for m in c.period.months()
        }
        for (month, inst), form in audit.atoms().items():
            if (month, inst) not in zero and (month, ALL) not in zero:
                targets[f"{month.code} at {inst} (one month)"] = form
        if fam.additive:  # the funded period less each period inside it
            for c in near.shown:
                if c.institution == ALL and c.period != FUNDED and FUNDED.contains(c.period):
                    form = dict(audit.vector(ALLOWED))
                    for k, v in audit.vector(c).items():
                        form[k] = form.get(k, 0.0) - v
                    targets[f"funded less {c.period.code}"] = form
        for what, form in targets.items():
            lo, hi = audit.range_of(form)
            if not pinned(lo, hi) or round(lo) == 0:
                continue
            if what == "funded at ALL" and ALLOWED in fam.exact:
                continue
            # pinned at the allowed figure only because the rest is a released zero
            rest = dict(audit.vector(ALLOWED))
            for k, v in form.items():
                rest[k] = rest.get(k, 0.0) - v
            if (
                ALLOWED in fam.exact
                and pinned(*audit.range_of(rest))
                and round(audit.range_of(rest)[0]) == 0
            ):
                continue
            found.append(f"{measure}: {what} = {round(lo)} exactly")
        assert counts[ALLOWED] > 0, measure
    assert found == []


# --- the defence -------------------------------------------------------------------------


def _two_parts(total: int, uol: int, ljmu: int) -> Family:
    """A funded period released for two institutions and the partnership only."""
    shown = {
        Cell(FUNDED, "UOL"): suppress_count(uol),
        Cell(FUNDED, "LJMU"): suppress_count(ljmu),
        ALLOWED: total,
    }
    return Family("referrals_received", True, ("LJMU", "UOL"), shown, {ALLOWED})


def test_an_exact_total_at_the_end_of_its_range_would_pin_its_parts_so_it_is_rounded() -> None:
    # 2127 + 1822 = 3949: both parts at the top of their intervals (2125 and 1820 shown)
    fam = _two_parts(3949, 2127, 1822)
    audit = Audit(fam)
    assert pinned(*audit.range_of(audit.vector(Cell(FUNDED, "UOL"))))  # the attack works...
    assert not exact_is_safe(fam, ALLOWED, 3949)  # ...so the total is not released exactly
    assert exact_is_safe(_two_parts(3947, 2126, 1821), ALLOWED, 3947)  # inside: safe
    inside = Audit(_two_parts(3947, 2126, 1821))
    lo, hi = inside.range_of(inside.vector(Cell(FUNDED, "UOL")))
    assert (lo, hi) == (2125.0, 2127.0)  # narrowed, never pinned


def test_the_demos_funded_period_stays_exact_because_it_is_safe(released: dict) -> None:
    assert {m for m, (f, _) in released.items() if ALLOWED in f.exact} == set(MEASURES)


def test_the_old_attack_by_sliding_the_end_date_has_nothing_to_slide() -> None:
    # 1 June 2019 to 1, 2, 3 ... August 2022: none of them is a release period
    for day in range(1, 9):
        with pytest.raises(ValueError, match="not a release period"):
            of_range(FUNDED.start, date(2022, 8, day))
    assert of_range(FUNDED.start, FUNDED.end) == FUNDED
