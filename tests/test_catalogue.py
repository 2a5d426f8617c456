"""The metric catalogue (``seeds/metric_catalogue.csv``) is the one description of every
published metric: it matches what the SQL produces, it is self-consistent, and the
generated docs page and the readers take it from there."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from smhp.reporting import catalogue
from smhp.reporting.catalogue import CATALOGUE_CSV, METRICS, info, load, markdown
from smhp.reporting.released import MEASURES
from smhp.settings import PIPELINE_DIR, REPO_ROOT
from smhp.warehouse import open_published

METRIC_SQL = sorted((PIPELINE_DIR / "models" / "intermediate" / "metrics").glob("*.sql"))
# each family model names its metrics as literals right after the institution column:
#   select month, institution_code, 'liaison_contacts' as metric, contacts as value
_METRIC_LITERAL = re.compile(r"institution_code,\s*'([a-z0-9_]+)'")


def _sql_metrics() -> set[str]:
    return {m for path in METRIC_SQL for m in _METRIC_LITERAL.findall(path.read_text())}


def test_the_catalogue_lists_exactly_the_metrics_the_sql_produces() -> None:
    assert len(METRIC_SQL) == 4
    assert set(METRICS) == _sql_metrics()
    for m in METRICS.values():  # a family's metrics are in its own model
        sql = PIPELINE_DIR / "models" / "intermediate" / "metrics" / f"int_metrics__{m.family}.sql"
        assert f"'{m.metric}'" in sql.read_text(), m.metric


#: Percentages over a subset of a published count (discharges with both CORE-10 scores, and
#: starting in the clinical range) that the spec does not publish as a metric of its own.
OVER_UNPUBLISHED_BASES = {"ucope_reliable_improvement_pct", "ucope_reliable_recovery_pct"}


def test_every_base_is_a_count_and_every_percentage_or_median_has_one_where_published() -> None:
    for m in METRICS.values():
        if m.base:
            assert info(m.base).kind == "count", m.metric
        if m.kind in ("pct", "median", "rate") and m.metric not in OVER_UNPUBLISHED_BASES:
            assert m.base, f"{m.metric} has no base: disclosure control could not judge it"
        if m.kind == "count":
            assert m.base is None and m.numerator is None, m.metric
        if m.kind == "pct":
            assert m.numerator, f"{m.metric}: a percentage names the flag it counts"


def test_targets_only_with_a_source() -> None:
    standards = {m.metric: (m.target, m.target_source) for m in METRICS.values() if m.target}
    assert set(standards) == set(catalogue.STANDARD_METRICS)
    for metric, (target, source) in standards.items():
        assert source and 0 < target <= 100, metric
        assert info(metric).direction != "neither", metric
    assert all(m.target_source is None for m in METRICS.values() if m.target is None)
    assert "NHS Talking Therapies" in (info("referral_seen_6wk_pct").target_note or "")


def test_a_value_against_its_standard_in_words() -> None:
    seen = info("referral_seen_6wk_pct")  # standard: at least 75%
    assert seen.against_standard(75.0) == "Meets the 75% standard"  # at the standard meets it
    assert seen.against_standard(74.9) == "Below the 75% standard"
    assert seen.against_standard("*") == seen.against_standard(None)
    assert seen.against_standard(None) == "Standard 75%: not measurable"
    assert info("referrals_received").against_standard(3) is None  # no standard


def test_a_broken_row_is_refused(tmp_path: Path) -> None:
    rows = list(csv.DictReader(CATALOGUE_CSV.open(encoding="utf-8")))

    def with_first(**changes: str) -> list[dict[str, str]]:
        return [{**rows[0], **changes}, *rows[1:]]

    cases = {
        "twice": rows + [rows[0]],
        "not a count": with_first(base="liaison_referral_pct"),
        "no source": with_first(target="50"),
        "not plain": with_first(event_date="presented_on; drop table x"),
        "kind": with_first(kind="ratio"),
    }
    for name, broken in cases.items():
        path = tmp_path / f"{name.replace(' ', '_')}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(broken)
        with pytest.raises(ValueError) as refused:
            load(path)
        assert f"{path.name} line " in str(refused.value)  # names the file and its line


def test_the_docs_page_is_generated_from_the_catalogue() -> None:
    page = (REPO_ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert page == markdown(), (
        "run: python -m smhp.reporting.catalogue --markdown > docs/metrics.md"
    )
    for m in METRICS.values():
        assert f"| `{m.metric}` | {m.label} |" in page


def test_released_counts_come_from_the_catalogue() -> None:
    seen = MEASURES["referral_seen_6wk"]
    assert (seen.table, seen.on, seen.where) == (
        "marts.fct_referrals",
        "first_appointment_on",
        "seen_within_6wk",
    )
    assert MEASURES["liaison_students"].distinct and not MEASURES["liaison_contacts"].distinct
    assert MEASURES["liaison_contacts"].on == "presented_on"


def test_dbt_tests_the_published_names_against_the_catalogue() -> None:
    yml = (PIPELINE_DIR / "models" / "marts" / "metrics_monthly.yml").read_text()
    assert "ref('dim_metrics')" in yml
    assert "liaison_contacts" not in yml  # no second list of names


@pytest.mark.slow
def test_the_built_warehouse_publishes_the_catalogue(demo_warehouse: Path) -> None:
    con = open_published(demo_warehouse)
    try:
        metrics = con.execute("select distinct metric from marts.metrics_monthly").fetchall()
        dim = con.execute("select * from marts.dim_metrics").df()
        columns = {
            (t, c)
            for t, c in con.execute(
                "select table_name, column_name from information_schema.columns "
                "where table_schema = 'marts'"
            ).fetchall()
        }
    finally:
        con.close()
    assert {m for (m,) in metrics} == set(METRICS)
    assert list(dim["metric"]) == list(METRICS)
    assert list(dim["label"]) == [m.label for m in METRICS.values()]
    for m in METRICS.values():  # the names the readers put into SQL exist
        for column in (m.event_date, m.numerator):
            if column:
                assert (m.fact, column) in columns, (m.metric, column)


def test_the_dashboards_enum_is_the_catalogues() -> None:
    from smhp.reporting.spc import Direction

    assert Direction is catalogue.Direction
