"""The equity statistics (smhp.reporting.equity): Wilson intervals at their boundaries and by
hand, rates, the representation ratio and its interval, the bands named as under-reached;
and the enrolment seed as its generator writes it. Pure and fast (no warehouse)."""

from __future__ import annotations

import csv
import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

from smhp.reporting.equity import (
    BANDS,
    NOT_KNOWN,
    band_figures,
    per_1000,
    rate_interval,
    ratio_interval,
    representation_ratio,
    under_reached,
    wilson_interval,
)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_wilson_by_hand() -> None:
    # 5 of 20, z = 1.96: p = 0.25, z²/n = 0.19208, centre = (0.25 + 0.09604) / 1.19208,
    # half-width = 1.96 / 1.19208 x sqrt(0.25 x 0.75 / 20 + 3.8416 / 1600)
    low, high = wilson_interval(5, 20)
    assert low == pytest.approx(0.11186005278940305, abs=1e-9)
    assert high == pytest.approx(0.46870500995806356, abs=1e-9)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),  # Newcombe 1998, table I (method 3, score interval)
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_agrees_with_newcombe(k: int, n: int, low: float, high: float) -> None:
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_at_the_boundaries() -> None:
    assert wilson_interval(0, 10)[0] == 0.0 and 0 < wilson_interval(0, 10)[1] < 1
    assert wilson_interval(10, 10)[1] == 1.0 and 0 < wilson_interval(10, 10)[0] < 1
    low, high = wilson_interval(1, 1)  # the tiniest sample: wide, inside 0-1
    assert 0 < low < 0.25 and high == 1.0
    low, high = wilson_interval(0, 1)
    assert low == 0.0 and 0.75 < high < 1
    # symmetric: k of n mirrors n - k of n
    assert wilson_interval(3, 7)[0] == pytest.approx(1 - wilson_interval(4, 7)[1], abs=1e-12)
    # a wider z gives a wider interval
    assert wilson_interval(5, 20, z=2.576)[0] < wilson_interval(5, 20)[0]
    for k, n in ((-1, 5), (6, 5)):
        with pytest.raises(ValueError, match="0 <= k <= n"):
            wilson_interval(k, n)
    with pytest.raises(ValueError, match="n > 0"):
        wilson_interval(0, 0)


def test_rate_per_1000_and_its_interval() -> None:
    assert per_1000(5, 20) == 250.0
    assert per_1000(0, 20) == 0.0
    assert per_1000(3, 0) is None  # no one enrolled: no rate
    low, high = rate_interval(5, 20)
    assert (low, high) == pytest.approx((111.86005278940305, 468.70500995806356), abs=1e-6)
    assert rate_interval(0, 500)[0] == 0.0
    assert rate_interval(3, 0) is None
    assert rate_interval(21, 20) is None  # more reached than an estimated headcount


def test_representation_ratio_and_its_interval() -> None:
    # 20 of 100 reached are international, 300 of 1,000 enrolled: 0.2 / 0.3
    assert representation_ratio(20, 100, 300, 1000) == pytest.approx(2 / 3)
    assert representation_ratio(30, 100, 300, 1000) == pytest.approx(1.0)
    low, high = ratio_interval(20, 100, 300, 1000)
    wl, wh = wilson_interval(20, 100)
    assert (low, high) == pytest.approx((wl / 0.3, wh / 0.3))
    assert low < 2 / 3 < high < 1  # clearly under-reached
    assert ratio_interval(0, 100, 300, 1000)[0] == 0.0
    assert representation_ratio(5, 0, 300, 1000) is None  # no one reached with a known band
    assert representation_ratio(5, 10, 0, 1000) is None  # no one enrolled in the band
    assert ratio_interval(5, 10, 0, 1000) is None


def test_band_figures_gather_every_statistic() -> None:
    got = band_figures(20, 300, 100, 1000)
    assert got.rate == pytest.approx(1000 * 20 / 300)
    assert (got.rate_low, got.rate_high) == rate_interval(20, 300)
    assert got.ratio == pytest.approx(2 / 3)
    assert (got.ratio_low, got.ratio_high) == ratio_interval(20, 100, 300, 1000)
    empty = band_figures(0, 0, 0, 0)
    assert empty.rate is None and empty.ratio is None and empty.ratio_high is None


def test_under_reached_names_bands_whose_ratio_interval_is_wholly_below_1() -> None:
    highs = {"home": 1.2, "international": 0.87, "other": 1.0, "small": None, "hidden": "*"}
    assert under_reached(highs) == ["international"]
    assert under_reached({"a": 0.999999}) == ["a"]
    assert under_reached({}) == []


def _generator():
    spec = importlib.util.spec_from_file_location("make_enrolments", SEEDS / "make_enrolments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_enrolment_seed_is_its_generators_output(tmp_path: Path) -> None:
    """The committed seed is what seeds/make_enrolments.py writes (re-run it after changing
    institution_populations), every (institution, year, dimension) sums to the headcount,
    and every band is one of the contract's."""
    generator = _generator()
    with (SEEDS / "enrolments.csv").open(newline="") as f:
        committed = list(csv.DictReader(f))
    assert committed == generator.rows()
    with (SEEDS / "institution_populations.csv").open(newline="") as f:
        headcount = {
            (r["institution_code"], r["academic_year"]): int(r["students"])
            for r in csv.DictReader(f)
        }
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in committed:
        assert row["band"] in BANDS[row["dimension"]]
        assert row["is_estimate"] == "true" and "Estimate" in row["source"]
        sums[row["institution_code"], row["academic_year"], row["dimension"]] += int(
            row["students"]
        )
    assert sums == {(i, y, d): n for (i, y), n in headcount.items() for d in BANDS}
    assert {r["band"] for r in committed if r["dimension"] == "sex"} >= {NOT_KNOWN}


def test_largest_remainder_sums_exactly() -> None:
    split = _generator().split
    assert split(10, {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3}, ("a", "b", "c")) == {
        "a": 4,
        "b": 3,
        "c": 3,
    }
    assert sum(split(751, {"x": 0.123, "y": 0.456, "z": 0.421}, ("x", "y", "z")).values()) == 751
    assert split(7, {"a": 1.0}, ("a", "b")) == {"a": 7, "b": 0}
