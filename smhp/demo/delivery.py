"""Nightly delta extracts: which night delivers each version, the files' bytes, and landing.

A change lands in the first extract on or after the day it was made (a missing night's
changes land in the next extract), and each night's file holds the latest version of every
record changed since the last one, as a full row: a delta. Sources with
``header_only_when_quiet`` send a header-only file on a night with no changes. Files are
rendered the way each partner's export writes them (``sources.SPECS``). ``arrivals`` turns
the files into deliveries, with the special ones of ``messiness.SpecialDeliveries`` (late,
re-sent, corrected, rejected, extra column); ``write_arrived`` writes into a landing folder
what had arrived by a night, incrementally.
"""

from __future__ import annotations

import bisect
import csv
import io
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from smhp.demo.messiness import Files, SpecialDeliveries, uncorrected_rows
from smhp.demo.records import FileRow, Record, Version
from smhp.demo.sources import SOURCES, SPECS, SourceSpec, file_name
from smhp.demo.timeline import DEMO_START, days


@dataclass(frozen=True)
class Delivery:
    """One file as it arrives in the landing folder (a name may arrive more than once)."""

    name: str  # <source>/<source>_<date>.csv
    source: str
    arrival: date
    content: bytes
    rows: int


def extract_nights(source: str, end: date) -> list[date]:
    """Every night the source's extract is due, from go-live to the demo's last night."""
    spec = SPECS[source]
    nights = [d for d in days(DEMO_START, end) if d.weekday() in spec.extract_weekdays]
    if source == "student_profiles":
        nights.insert(0, DEMO_START)  # the go-live extract
    return nights


class Extracts:
    """Each source's extract nights and, once laid out, the rows of each night's file."""

    def __init__(self) -> None:
        self.schedules: dict[str, list[date]] = {}
        self.files: dict[str, dict[date, list[FileRow]]] = {s: {} for s in SOURCES}

    def _night_for(self, source: str, version: Version) -> date | None:
        """The extract that delivers a version: the first night on or after its change."""
        if version.night is not None:
            return version.night
        nights = self.schedules[source]
        i = bisect.bisect_left(nights, version.at.date())
        return nights[i] if i < len(nights) else None

    def lay_out(self, source: str, records: Sequence[Record]) -> None:
        """Put each record's latest version per extract night into that night's file."""
        files = self.files[source]
        for record in records:
            per_night: dict[date, Version] = {}
            for version in record.versions:
                night = self._night_for(source, version)
                if night is not None:
                    per_night[night] = version
            for night, version in per_night.items():
                row = FileRow(record.key, version.row)
                files.setdefault(night, []).append(row)
                record.placed.append((night, row))
        if SPECS[source].header_only_when_quiet:
            for night in self.schedules[source]:
                files.setdefault(night, [])
        for rows in files.values():
            rows.sort(key=lambda r: (r.row["updated_at"], r.key))
        self.files[source] = dict(sorted(files.items()))


def csv_writer(spec: SourceSpec, buffer: io.StringIO) -> Any:
    """A writer of the source's line ends and quoting (``scale`` writes its copies with it)."""
    quoting = csv.QUOTE_ALL if spec.quote_all else csv.QUOTE_MINIMAL
    return csv.writer(buffer, lineterminator=spec.line_end, quoting=quoting)


def render(
    spec: SourceSpec, rows: list[FileRow], extra_column: str | None, missing: str | None
) -> bytes:
    """One file's bytes: the source's column order, line ends, quoting and BOM."""
    columns = [c for c in spec.columns if c != missing] + ([extra_column] if extra_column else [])
    buffer = io.StringIO()
    writer = csv_writer(spec, buffer)
    writer.writerow(columns)
    writer.writerows([r.row.get(c, "") for c in columns] for r in rows)
    return (("\ufeff" if spec.bom else "") + buffer.getvalue()).encode("utf-8")


def arrivals(files: Files, special: SpecialDeliveries, end: date) -> tuple[Delivery, ...]:
    """Render every file and decide when it arrives (by the demo's last night); in order."""
    out: list[Delivery] = []
    for source, nights in files.items():
        spec = SPECS[source]
        for night, rows in nights.items():
            name = file_name(source, night)
            extra = special.extra_column if name in special.extra_column_files else None
            missing = special.rejected_column if name == special.rejected else None
            content = render(spec, rows, extra, missing)
            if name == special.corrected[0]:
                first = uncorrected_rows(rows)
                out.append(
                    Delivery(name, source, night, render(spec, first, None, None), len(first))
                )
                out.append(Delivery(name, source, special.corrected[1], content, len(rows)))
                continue
            arrival = night + timedelta(special.late.get(name, 0))
            out.append(Delivery(name, source, arrival, content, len(rows)))
            if name == special.resent[0]:
                out.append(Delivery(name, source, special.resent[1], content, len(rows)))
    out.sort(key=lambda d: (d.arrival, d.name))
    if special.rejected not in {d.name for d in out} or out[-1].arrival > end:
        raise AssertionError("the special deliveries do not fit the demo's last week")
    return tuple(out)


# ---------------------------------------------------------------------------- landing


@dataclass(frozen=True)
class Landed:
    """What one write into the landing folder did."""

    written: int
    unchanged: int
    header_only: int
    rows_by_source: dict[str, int]


def _previous_cutoff(
    on_disk: Mapping[str, bytes], versions: Mapping[str, list[Delivery]]
) -> date | None:
    """The last arrival night already written to ``out``, inferred from the files there.

    A file's bytes tell which of its versions is on disk; the earliest night those bytes
    arrived is a night the previous call had reached. None when nothing of ours is there.
    """
    latest: date | None = None
    for name, data in on_disk.items():
        arrivals = [v.arrival for v in versions[name] if v.content == data]
        if arrivals:
            latest = max(latest or min(arrivals), min(arrivals))
    return latest


def write_arrived(out: Path, deliveries: Sequence[Delivery], cutoff: date) -> Landed:
    """Write into ``out`` each file name's latest version arrived by ``cutoff``.

    Incremental: a file already there with the same bytes is left alone (mtime and all),
    unless a delivery of it arrived after the previous call's night (a re-send is rewritten
    with the same bytes, which is what a re-send is); a corrected re-delivery overwrites.
    Never deletes.
    """
    versions: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in deliveries:
        versions[delivery.name].append(delivery)
    on_disk = {name: (out / name).read_bytes() for name in versions if (out / name).is_file()}
    previous = _previous_cutoff(on_disk, versions)
    written = unchanged = header_only = 0
    rows: Counter[str] = Counter()
    for name, arrived_all in versions.items():
        arrived = [d for d in arrived_all if d.arrival <= cutoff]
        if not arrived:
            continue
        target = arrived[-1]
        rows[target.source] += target.rows
        header_only += int(target.rows == 0)
        fresh = previous is None or any(d.arrival > previous for d in arrived)
        if on_disk.get(name) == target.content and not fresh:
            unchanged += 1
            continue
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(target.content)
        written += 1
    return Landed(written, unchanged, header_only, {s: rows[s] for s in SOURCES})
