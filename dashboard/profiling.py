"""The server time of each script run, for measuring serving capacity (``bench/serving.py``).

Off unless ``SMHP_PROFILE_LOG`` names a file: then every rerun appends one JSON line to
it, ``{"page", "role", "wall_ms", "cpu_ms", "pid", "at"}``: the wall-clock and CPU time
of the script run in the server (``dashboard.app.main``: the sign-in check, banner, page
and audit record, first line to last). CPU time is the script thread's own
(``time.thread_time``), so it stays true while other sessions' runs share the cores; the
wall time includes waiting for them. Each line is one ``write`` to a file opened for
appending, so several dashboard processes can share one log. Nothing about the viewer is
written but the role, and never any data.

A diagnostic, not a setting of the service: it lives here, next to the one place that
reads it, rather than in ``smhp.settings``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

PROFILE_LOG_ENV = "SMHP_PROFILE_LOG"
_RUN = threading.local()  # what the current script thread's run is showing


def note(page: str, role: str) -> None:
    """Name the page and role of the run being timed (called once the page is known)."""
    _RUN.page, _RUN.role = page, role


@contextmanager
def timed() -> Iterator[None]:
    """Time the script run inside, and append its line to the log if there is one."""
    log = os.environ.get(PROFILE_LOG_ENV)
    if not log:
        yield
        return
    _RUN.page, _RUN.role = "", ""
    wall, cpu = time.perf_counter(), time.thread_time()
    try:
        yield
    finally:
        line = {
            "page": _RUN.page,
            "role": _RUN.role,
            "wall_ms": round((time.perf_counter() - wall) * 1000, 2),
            "cpu_ms": round((time.thread_time() - cpu) * 1000, 2),
            "pid": os.getpid(),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        }
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
