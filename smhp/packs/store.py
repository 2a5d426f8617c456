"""Where packs live and what their manifest says.

A snapshot's packs sit beside it, ``FILE.snapshots/<run_id>.packs/``, so they share its
retention: ``smhp.pipeline.publish.WarehouseLayout.prune`` removes the folder with its
snapshot (``packs_dir`` is the one rule both use). The folder holds the PDFs and
``manifest.json``: the status (``rendered`` or ``failed``), the run, the data's as-of date,
each pack's file, kind, institution and seconds, or the reason the packs failed. The
dashboard reads only the manifest and the files it names (``packs_for``,
``newest_packs``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from smhp.access import Scope
from smhp.atomic import write_atomically

MANIFEST = "manifest.json"
RENDERED = "rendered"
FAILED = "failed"
BOARD, MANAGER, FUNDER = "board", "manager", "funder"
KINDS: tuple[str, ...] = (BOARD, MANAGER, FUNDER)


def packs_dir(snapshot: Path) -> Path:
    """The packs folder of a snapshot file: ``<run_id>.duckdb`` → ``<run_id>.packs``."""
    return snapshot.with_suffix(".packs")


@dataclass(frozen=True)
class PackFile:
    """One rendered pack: its file (in the packs folder), kind, institution (manager
    packs only), title and how long it took to render."""

    file: str
    kind: str
    title: str
    institution: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Manifest:
    """What a run's packs folder holds (``manifest.json``)."""

    status: str
    run_id: str
    as_of: str | None
    made_at: str
    packs: tuple[PackFile, ...] = field(default_factory=tuple)
    reason: str | None = None
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        raw["packs"] = tuple(PackFile(**p) for p in raw.get("packs", ()))
        return cls(**raw)


def write_manifest(folder: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` atomically (a reader sees the old or the new one, whole)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MANIFEST
    write_atomically(target, manifest.to_json())
    return target


def packs_for(snapshot: Path) -> Manifest | None:
    """The manifest of a snapshot's packs; ``None`` when it has none (yet)."""
    path = packs_dir(snapshot) / MANIFEST
    try:
        return Manifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def newest_packs(snapshot: Path) -> tuple[Path, Manifest] | None:
    """The newest retained snapshot beside ``snapshot`` (itself included) that has a
    manifest, with it: the packs the dashboard offers (a run that published nothing new
    leaves the last packs in place)."""
    for candidate in sorted(snapshot.parent.glob("*.duckdb"), reverse=True):
        if candidate.name > snapshot.name:
            continue  # newer than the snapshot being read: not published (yet)
        manifest = packs_for(candidate)
        if manifest is not None:
            return candidate, manifest
    return None


def pack_path(snapshot: Path, pack: PackFile) -> Path:
    """The PDF of one pack listed in the snapshot's manifest (a bare name, never a path)."""
    if Path(pack.file).name != pack.file:
        raise ValueError(f"not a pack file name: {pack.file!r}")
    return packs_dir(snapshot) / pack.file


def may_read(pack: PackFile, scope: Scope) -> bool:
    """Whether a viewer of ``scope`` may have ``pack``: the pack's own scope must lie within
    it. The board pack is exact and partnership-wide (the board's scope); a manager pack is
    exact for one institution (a scope with that institution, exact); the funder pack is
    partnership-wide through disclosure control (any scope of the whole partnership). So a
    funder gets the funder pack only, a service manager their institutions' packs only."""
    exact = not scope.disclosure_control
    if pack.kind == BOARD:
        return exact and scope.institutions is None
    if pack.kind == MANAGER:
        return exact and pack.institution is not None and scope.allows(pack.institution)
    if pack.kind == FUNDER:
        return scope.institutions is None
    return False
