"""What a run tells the person watching it, and the run's log file.

Every line goes to stderr and, once the run has a log file, to that file too. Only
counts, file names, column names and reasons are ever printed: never a value from a
row, so no identifier or free text can leak into a terminal or a log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


class Reporter:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.log: TextIO | None = None
        self.timings: dict[str, float] = {}

    def open_log(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.log = path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self.log:
            self.log.close()
            self.log = None

    def line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
        if self.log:
            print(text, file=self.log, flush=True)

    @contextmanager
    def stage(self, number: int, total: int, name: str) -> Iterator[None]:
        """Announce a stage, time it, and say how it ended."""
        self.line(f"[{number}/{total}] {name} …")
        start = time.perf_counter()
        try:
            yield
        except BaseException:
            self.timings[name] = time.perf_counter() - start
            self.line(f"[{number}/{total}] {name} failed after {self.timings[name]:.1f} s")
            raise
        self.timings[name] = time.perf_counter() - start
        self.line(f"[{number}/{total}] {name} done in {self.timings[name]:.1f} s")
