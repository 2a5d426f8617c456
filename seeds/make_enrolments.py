"""Writes ``seeds/enrolments.csv``: estimated enrolled headcount per institution, academic
year, equity dimension and band (the denominators of the equity-of-access rates).

Why estimates: HESA's "Who's studying in HE" tables (enrolments by level of study, year,
domicile, sex, age and ethnicity per provider) cannot be downloaded from the machines that
build this project. Until they are copied in, each institution's headcount of
``institution_populations.csv`` is split by shares of the shape HESA publishes for such a
provider (a research-intensive university with many postgraduates and international
students, a modern university, a small performing-arts school, a postgraduate school of
tropical medicine, an international foundation college). Every row is marked
``is_estimate=true`` and its ``source`` says so.

How: each institution has a mix of study levels and a share of international students;
year of study and age follow from the level (a level's own mix of years and ages), and
ethnic group from the domicile (HESA collects ethnicity for UK-domiciled students; the
international mix is an assumption). Sex is one mix for all. The shares are fixed, the
headcounts of each year are split by largest-remainder rounding, so the bands of one
(institution, year, dimension) sum exactly to the institution's headcount (dbt test
``assert_enrolment_bands_sum_to_headcount``). Deterministic: the same input gives the same
file, byte for byte (``tests/test_equity_stats.py`` checks the committed file is current).

Run from the repository root: ``.venv/bin/python seeds/make_enrolments.py``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

from smhp.reporting.equity import BANDS, NOT_KNOWN

SEEDS = Path(__file__).resolve().parent
POPULATIONS = SEEDS / "institution_populations.csv"
OUT = SEEDS / "enrolments.csv"

SOURCE = "Estimate (not a published figure): headcount split by HESA-shaped shares"
"""Every row's ``source``: the method is this file's docstring."""

Mix = Mapping[str, float]

# Study level and international share per institution (HESA-shaped estimates).
LEVELS: dict[str, Mix] = {
    "UOL": {"undergraduate": 0.71, "postgraduate_taught": 0.20, "postgraduate_research": 0.09},
    "LJMU": {"undergraduate": 0.82, "postgraduate_taught": 0.14, "postgraduate_research": 0.04},
    "HOPE": {"undergraduate": 0.80, "postgraduate_taught": 0.15, "postgraduate_research": 0.05},
    "LIPA": {"undergraduate": 0.93, "postgraduate_taught": 0.07},
    "LSTM": {"postgraduate_taught": 0.70, "postgraduate_research": 0.30},
    "UOLIC": {"foundation": 0.75, "undergraduate": 0.15, "postgraduate_taught": 0.10},
}
INTERNATIONAL: dict[str, float] = {
    "UOL": 0.36,
    "LJMU": 0.19,
    "HOPE": 0.10,
    "LIPA": 0.19,
    "LSTM": 0.62,
    "UOLIC": 0.98,
}

YEARS: dict[str, Mix] = {
    "undergraduate": {"1": 0.36, "2": 0.31, "3": 0.28, "4": 0.04, "5": 0.01},
    "postgraduate_taught": {"1": 0.90, "2": 0.10},
    "postgraduate_research": {
        "1": 0.27,
        "2": 0.26,
        "3": 0.25,
        "4": 0.15,
        "5": 0.05,
        "6": 0.015,
        "7": 0.005,
    },
    "foundation": {"1": 1.0},
}
AGES: dict[str, Mix] = {
    "undergraduate": {"under_21": 0.62, "21_24": 0.27, "25_29": 0.05, "30_plus": 0.06},
    "foundation": {"under_21": 0.85, "21_24": 0.13, "25_29": 0.02, "30_plus": 0.0},
    "postgraduate_taught": {"under_21": 0.02, "21_24": 0.52, "25_29": 0.25, "30_plus": 0.21},
    "postgraduate_research": {"under_21": 0.0, "21_24": 0.22, "25_29": 0.44, "30_plus": 0.34},
}
SEX: Mix = {"female": 0.575, "male": 0.39, "other": 0.01, NOT_KNOWN: 0.025}
ETHNIC: dict[str, Mix] = {
    "home": {
        "white": 0.77,
        "asian": 0.085,
        "black": 0.05,
        "mixed": 0.05,
        "other": 0.02,
        NOT_KNOWN: 0.025,
    },
    "international": {
        "asian": 0.62,
        "black": 0.12,
        "white": 0.10,
        "mixed": 0.04,
        "other": 0.08,
        NOT_KNOWN: 0.04,
    },
}


def _through(outer: Mix, inner: Mapping[str, Mix]) -> dict[str, float]:
    """A mix of bands given a mix of groups and each group's own mix of bands."""
    out: dict[str, float] = {}
    for group, weight in outer.items():
        for band, share in inner[group].items():
            out[band] = out.get(band, 0.0) + weight * share
    return out


def shares(institution: str) -> dict[str, dict[str, float]]:
    """The estimated share of each band, per dimension, at one institution."""
    international = INTERNATIONAL[institution]
    domicile = {"home": 1.0 - international, "international": international}
    levels = LEVELS[institution]
    return {
        "study_level": dict(levels),
        "year_of_study": _through(levels, YEARS),
        "domicile": domicile,
        "sex": dict(SEX),
        "age_band": _through(levels, AGES),
        "ethnic_group": _through(domicile, ETHNIC),
    }


def split(total: int, mix: Mapping[str, float], bands: tuple[str, ...]) -> dict[str, int]:
    """``total`` split by ``mix`` over ``bands`` (largest remainder: the parts sum exactly to
    ``total``; ties go to the band listed first)."""
    weight = sum(mix.get(b, 0.0) for b in bands)
    quotas = {b: total * mix.get(b, 0.0) / weight for b in bands}
    parts = {b: math.floor(q) for b, q in quotas.items()}
    left = total - sum(parts.values())
    by_remainder = sorted(bands, key=lambda b: (-(quotas[b] - parts[b]), bands.index(b)))
    for band in by_remainder[:left]:
        parts[band] += 1
    return parts


def rows() -> list[dict[str, str]]:
    """Every row of the seed, in the order of ``institution_populations.csv`` then dimension
    and band."""
    out = []
    with POPULATIONS.open(newline="") as f:
        for population in csv.DictReader(f):
            code, total = population["institution_code"], int(population["students"])
            mixes = shares(code)
            for dimension, bands in BANDS.items():
                for band, students in split(total, mixes[dimension], bands).items():
                    out.append(
                        {
                            "institution_code": code,
                            "academic_year": population["academic_year"],
                            "dimension": dimension,
                            "band": band,
                            "students": str(students),
                            "source": SOURCE,
                            "is_estimate": "true",
                        }
                    )
    return out


def main() -> None:
    """Write the seed file."""
    table = rows()
    with OUT.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(table)
    print(f"{len(table)} rows written to {OUT}")


if __name__ == "__main__":
    main()
