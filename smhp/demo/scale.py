"""The demo at scale N (``smhp demo-data --scale N``): the city's extracts N times over.

Why copies rather than a bigger simulation: the city's demo is calibrated (the funded
figures, the decoys around them, the planted faults), and a simulation of a nation would need
a calibration of its own and take longer to write than the pipeline takes to load it. So each
file holds the city's rows (copy 0, byte for byte) followed by N-1 copies of its data rows,
copy k renamed into k's own institutions, records and students: the same files on the same
nights, so every planted row fault repeats in every copy and the file-level faults (the
rejected file, the extra column, the corrected re-delivery, the re-send, the late and the
header-only files) stay what they are. A national figure is then N times the city's, and
each copy institution's figures are its original's, which is what the benchmarks and
``tests/test_demo_scale.py`` rely on.

What a copy renames comes from the extract contract (``smhp.pipeline.contract``), never a
list here: the record-id columns of type ``code`` are the institution (``UOL`` -> ``UOL-07``;
a value that is not a valid code, a planted fault, is kept, so it breaks the same rule),
those of type ``text`` are record ids (suffixed ``-07`` wherever a column of that name
appears, so a case discussion still names its copy's liaison contact), and every
``nhs_number`` column is a student (``StudentNumbers``). The institutions' reference data
follows in a seeds folder of its own (``write_scaled_seeds``; ``SMHP_SEEDS_DIR`` points the
pipeline at it).
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from smhp.demo.delivery import Delivery, csv_writer
from smhp.demo.sources import SPECS
from smhp.pipeline.contract import load_contract
from smhp.pipeline.nhs_number import is_valid_nhs_number, normalise
from smhp.settings import DEFAULTS

__all__ = ["StudentNumbers", "copy_suffix", "scale_deliveries", "write_scaled_seeds"]

#: The city's seeds, which every scaled seeds folder is made from (whatever SMHP_SEEDS_DIR
#: this process reads: a scaled folder scaled again would hold copies of copies).
CITY_SEEDS = Path(DEFAULTS["SMHP_SEEDS_DIR"])
#: The seed of the institutions, and its display-name column (a copy's name says which).
_INSTITUTIONS_SEED = "institutions.csv"
_NAME_COLUMN = "institution_name"
#: The NHS numbers of the test range (never issued to a person), as ``_new_ref`` draws them.
_TEST_RANGE = 999_000_000


def copy_suffix(copy: int) -> str:
    """What copy ``copy`` (1-99) appends to an institution code and a record id."""
    return f"-{copy:02d}"


# --------------------------------------------------------------------- what a copy renames


@dataclass(frozen=True)
class _Renames:
    """Per source, the delivered columns a copy renames, by kind; and the institution codes."""

    ids: dict[str, frozenset[str]]
    institutions: dict[str, frozenset[str]]
    students: dict[str, frozenset[str]]
    codes: frozenset[str]
    institution_column: str

    @classmethod
    def from_contract(cls) -> _Renames:
        contract = load_contract()
        kinds: dict[str, set[str]] = {"code": set(), "text": set()}
        for source in contract.values():
            for name in source.record_id:
                rule = source.column_for(name)
                if rule.type in kinds:
                    kinds[rule.type].add(name)
        if len(kinds["code"]) != 1:
            raise ValueError(f"one institution column among the record ids, not {kinds['code']}")
        (institution,) = kinds["code"]
        codes: set[str] = set()
        ids, institutions, students = {}, {}, {}
        for name, source in contract.items():
            ids[name] = frozenset(c.delivered_as for c in source.columns if c.name in kinds["text"])
            here = [c for c in source.columns if c.name == institution]
            institutions[name] = frozenset(c.delivered_as for c in here)
            codes.update(code for c in here for code in c.values)
            students[name] = frozenset(
                c.delivered_as for c in source.columns if c.type == "nhs_number"
            )
        return cls(ids, institutions, students, frozenset(codes), institution)


# --------------------------------------------------------------------------- students


def _test_range_numbers() -> np.ndarray:
    """Every valid NHS number of the test range (999 000 000 0 to 999 999 999 9), ascending."""
    serial = np.arange(10**6, dtype=np.int64)
    total = sum(9 * w for w in (10, 9, 8))  # the 999
    for place, weight in enumerate(range(7, 1, -1)):  # the six digits after it
        total = total + (serial // 10 ** (5 - place) % 10) * weight
    check = (11 - total % 11) % 11  # 11 -> 0; 10 -> no valid number
    keep = check != 10
    return (_TEST_RANGE + serial[keep]) * 10 + check[keep]


class StudentNumbers:
    """Copy k's NHS number for each of the city's: valid, of the test range, deterministic,
    injective over (copy, number), never one of the city's nor another copy's.

    The test range's numbers the city does not use are dealt out in ascending order: copy
    1 takes the first ``len(city)``, in the order of the city's numbers, copy 2 the next,
    and so on. The range holds 909,091 valid numbers, so scale x students must fit in it
    (the pinned demo: 13,270 students, up to scale 68).
    """

    def __init__(self, city: Iterable[str], scale: int) -> None:
        self.city = sorted(set(city))
        if not all(is_valid_nhs_number(n) for n in self.city):
            raise ValueError("the city's numbers must be valid NHS numbers")
        free = _test_range_numbers()
        free = free[~np.isin(free, np.array(self.city, dtype=np.int64))]
        copies = scale - 1
        if copies * len(self.city) > len(free):
            most = len(free) // max(1, len(self.city)) + 1
            raise ValueError(
                f"scale {scale} needs {scale * len(self.city):,} NHS numbers, more than the "
                f"test range holds; at most scale {most} for {len(self.city):,} students"
            )
        self._numbers = free[: copies * len(self.city)].reshape(copies, len(self.city))

    def for_copy(self, copy: int) -> dict[str, str]:
        """Copy ``copy``'s (1..scale-1) number of each city number, as ten digits."""
        return dict(zip(self.city, self._numbers[copy - 1].astype(str).tolist(), strict=True))


def _respelled(written: str, digits: str) -> str:
    """``digits`` written the way ``written`` was (its spaces where they were)."""
    new = iter(digits)
    return "".join(next(new) if c.isdigit() else c for c in written)


# -------------------------------------------------------------------------- the files


@dataclass(frozen=True)
class _File:
    """One delivered file's content, parsed into columns (the header, then the data rows)."""

    source: str
    content: bytes

    @cached_property
    def table(self) -> tuple[list[str], list[tuple[str, ...]]]:
        text = self.content.decode("utf-8").removeprefix("\ufeff")
        header, *rows = csv.reader(io.StringIO(text, newline=""))
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in header]
        return header, columns

    def students(self, renames: _Renames) -> set[str]:
        header, columns = self.table
        wanted = renames.students[self.source]
        return {v for name, col in zip(header, columns, strict=True) if name in wanted for v in col}

    def copies(self, renames: _Renames, spellings: Sequence[dict[str, str]]) -> bytes:
        """The data rows of copies 1.. (one spelling of the students per copy), rendered as
        the source writes its files; empty for a header-only file."""
        header, columns = self.table
        if not columns or not columns[0]:
            return b""
        buffer = io.StringIO()
        writer = csv_writer(SPECS[self.source], buffer)
        ids, places = renames.ids[self.source], renames.institutions[self.source]
        students, codes = renames.students[self.source], renames.codes
        for copy, spelling in enumerate(spellings, start=1):
            suffix = copy_suffix(copy)
            renamed = []
            for name, col in zip(header, columns, strict=True):
                if name in ids:
                    col = [v + suffix if v else v for v in col]
                elif name in places:
                    col = [v + suffix if v in codes else v for v in col]
                elif name in students:
                    col = list(map(spelling.get, col, col))
                renamed.append(col)
            writer.writerows(zip(*renamed, strict=True))
        return buffer.getvalue().encode("utf-8")


def scale_deliveries(deliveries: Sequence[Delivery], scale: int) -> tuple[Delivery, ...]:
    """The city's deliveries at ``scale``: each content followed by copies 1..scale-1 of its
    data rows; same names, sources and arrivals, ``rows`` times ``scale``."""
    if scale == 1:
        return tuple(deliveries)
    renames = _Renames.from_contract()
    files = {d.content: _File(d.source, d.content) for d in deliveries}  # re-sends: once
    written = set().union(*(f.students(renames) for f in files.values()))
    valid = {w: normalise(w) for w in written if is_valid_nhs_number(normalise(w))}
    numbers = StudentNumbers(valid.values(), scale)
    spaced = {w: d for w, d in valid.items() if w != d}  # the few written with spaces
    spellings = []
    for copy in range(1, scale):
        digits = numbers.for_copy(copy)
        spellings.append(digits | {w: _respelled(w, digits[d]) for w, d in spaced.items()})
    scaled = {content: content + f.copies(renames, spellings) for content, f in files.items()}
    return tuple(replace(d, content=scaled[d.content], rows=d.rows * scale) for d in deliveries)


# -------------------------------------------------------------------------- the seeds


def write_scaled_seeds(seeds_out: Path, scale: int) -> Path:
    """A complete seeds folder for the demo at ``scale``: the city's seeds (every CSV and the
    ``_seeds.yml``), each row of a city institution followed by its copies' rows (code
    ``UOL-07``, name "... (copy 07)", the same joining date and populations). Point
    ``SMHP_SEEDS_DIR`` at it to load the scaled extracts."""
    seeds_out = Path(seeds_out)
    if seeds_out.resolve() == CITY_SEEDS.resolve():
        raise ValueError(f"{seeds_out} is the city's seeds folder: write the copies elsewhere")
    renames = _Renames.from_contract()
    seeds_out.mkdir(parents=True, exist_ok=True)
    for seed in sorted(CITY_SEEDS.glob("*.csv")) + [CITY_SEEDS / "_seeds.yml"]:
        target = seeds_out / seed.name
        if seed.suffix != ".csv" or scale == 1:
            shutil.copyfile(seed, target)
            continue
        content = seed.read_bytes()
        text = content.decode("utf-8")
        header, *rows = csv.reader(io.StringIO(text, newline=""))
        if renames.institution_column not in header:
            shutil.copyfile(seed, target)
            continue
        code = header.index(renames.institution_column)
        name = header.index(_NAME_COLUMN) if seed.name == _INSTITUTIONS_SEED else None
        city = [row for row in rows if row[code] in renames.codes]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n" if "\r\n" in text else "\n")
        for copy in range(1, scale):
            suffix = copy_suffix(copy)
            for row in city:
                row = list(row)
                row[code] += suffix
                if name is not None:
                    row[name] += f" (copy {copy:02d})"
                writer.writerow(row)
        ending = b"" if content.endswith(b"\n") else b"\n"
        target.write_bytes(content + ending + buffer.getvalue().encode("utf-8"))
    return seeds_out
