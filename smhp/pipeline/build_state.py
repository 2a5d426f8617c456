"""What a published warehouse was built from, so a night with nothing new rebuilds nothing.

A nightly run's marts and checks are a function of two things: the raw layer (what ingest
loaded) and the build (the dbt project, its seeds, the expectation suites, and the code and
versions that run them). Each full build writes both into the snapshot it publishes, as the
one-row table ``ops.build_state``: the build's fingerprint and the run that built it. The
next run starts from a copy of that snapshot; when its ingest touched nothing (no file
loaded, replaced, re-sent or rejected: the raw layer is byte for byte the one the marts were
built from) and the fingerprint is the same, dbt and the quality gate would produce the same
tables and the same verdicts, so the run carries them over instead (see
``smhp.pipeline.nightly``). ``smhp nightly --full-refresh`` always rebuilds.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

import duckdb

from smhp.settings import PIPELINE_DIR, REPO_ROOT, SEEDS_DIR

#: Build outputs and caches inside the dbt project: never part of what a build is made of.
_NOT_INPUTS = frozenset({"target", "logs", "dbt_packages", "__pycache__", ".user.yml"})

#: The Python code that turns a raw layer into marts and verdicts (ingest runs every night).
_BUILD_CODE = ("smhp/pipeline/dbt_build.py", "smhp/pipeline/quality")

#: Packages whose version changes what a build produces.
_BUILD_PACKAGES = ("dbt-core", "dbt-duckdb", "duckdb", "great-expectations")


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not _NOT_INPUTS.intersection(p.relative_to(root).parts)
    )


def fingerprint(expectations_dir: Path) -> str:
    """A hash of everything a build is made of: a changed model, seed, suite, build code
    or package version gives a different value."""
    digest = hashlib.sha256()
    roots = [PIPELINE_DIR, SEEDS_DIR, expectations_dir, *(REPO_ROOT / p for p in _BUILD_CODE)]
    for root in roots:
        for path in _files(root):
            digest.update(f"{path.relative_to(root.parent)}\0".encode())
            digest.update(path.read_bytes())
    for package in _BUILD_PACKAGES:
        try:
            digest.update(f"{package}=={metadata.version(package)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} missing\0".encode())
    return digest.hexdigest()


def record(con: duckdb.DuckDBPyConnection, build_fingerprint: str, run_id: str) -> None:
    """Note in ``con``'s database that run ``run_id`` built its marts with this build."""
    con.execute("create schema if not exists ops")
    con.execute(
        "create or replace table ops.build_state as"
        " select ?::varchar as fingerprint, ?::varchar as built_by_run_id",
        [build_fingerprint, run_id],
    )


def built_by(con: duckdb.DuckDBPyConnection, build_fingerprint: str) -> str | None:
    """The run that built ``con``'s marts, if it used this very build; else None."""
    try:
        row = con.execute("select fingerprint, built_by_run_id from ops.build_state").fetchone()
    except duckdb.CatalogException:  # an empty candidate, or built before this table
        return None
    if row is None or row[0] != build_fingerprint:
        return None
    return row[1]
