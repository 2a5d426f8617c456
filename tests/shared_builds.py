"""Expensive builds made once per test run and copied into each test that changes them.

A real nightly run (ingest, ``dbt build``, Great Expectations, publish) takes 10-30 s on
the 2-core CI machine. Tests that only need "a warehouse after a clean first run" take a
copy of one built once (``build_once``, then ``copy_built``); tests that check what a run
does still run it themselves, on their copy.

With pytest-xdist, the first worker that asks for a build makes it under a lock in the
folder the workers share; the others wait and reuse it. A file written last says the
build is complete, so a build that failed is tried again rather than reused half-made.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of this test run that every xdist worker shares (each has its own below)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """The folder ``build(folder)`` filled, built at most once per test run; never change it
    (take a ``copy_built`` of it)."""
    root = run_folder(tmp_path_factory) / "built-once" / name
    root.mkdir(parents=True, exist_ok=True)
    folder, complete = root / "build", root / "complete"
    with (root / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not complete.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            complete.touch()  # last: its presence says the build is complete
    return folder


def copy_built(built: Path, to: Path) -> Path:
    """A private copy of a ``build_once`` folder at ``to`` (which may exist), as the run left
    it: file times to the nanosecond (the ingest knows an unchanged extract by size and
    mtime), file modes, and the published link still a relative link to its snapshot."""
    shutil.copytree(built, to, symlinks=True, dirs_exist_ok=True)
    return to
