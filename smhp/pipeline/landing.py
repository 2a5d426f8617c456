"""Finding extract files in the landing folder and naming their source and date.

Layout: ``<landing>/<source>/<source>_<YYYY-MM-DD>.csv``. A file that does not fit is
not skipped: it is reported as rejected with the reason, so nothing disappears.
Dot-files (``.partial`` uploads, ``.DS_Store``) are not deliveries and are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

_NAME = re.compile(r"(?P<source>[a-z_]+)_(?P<date>\d{4}-\d{2}-\d{2})\.csv")


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative: str  # path under the landing folder, with forward slashes
    source: str | None  # None when the folder is not a known source
    extract_date: date | None
    problem: str | None  # why the file is rejected before it is read, if it is


def _describe(
    path: Path, relative: str, folder: str | None, known: set[str], today: date
) -> LandedFile:
    if folder is None:
        return LandedFile(path, relative, None, None, "not in a source folder")
    if folder not in known:
        return LandedFile(path, relative, None, None, f"unknown source folder '{folder}'")
    match = _NAME.fullmatch(path.name)
    if not match or match["source"] != folder:
        return LandedFile(
            path,
            relative,
            folder,
            None,
            f"file name does not match the pattern {folder}_YYYY-MM-DD.csv",
        )
    try:
        extract_date = date.fromisoformat(match["date"])
    except ValueError:
        return LandedFile(path, relative, folder, None, "file name holds an impossible date")
    if extract_date > today:
        return LandedFile(path, relative, folder, extract_date, "extract date is in the future")
    return LandedFile(path, relative, folder, extract_date, None)


def scan_landing(landing: Path, known_sources: set[str], today: date) -> list[LandedFile]:
    """Every delivered file under the landing folder, in a stable order."""
    if not landing.is_dir():
        raise FileNotFoundError(f"Landing folder {landing} does not exist")
    found: list[LandedFile] = []
    for path in sorted(landing.rglob("*")):
        relative = path.relative_to(landing).as_posix()
        if path.is_dir() or any(part.startswith(".") for part in relative.split("/")):
            continue
        parts = relative.split("/")
        folder = parts[0] if len(parts) == 2 else None
        if len(parts) > 2:
            folder = None
        found.append(_describe(path, relative, folder, known_sources, today))
    return found
