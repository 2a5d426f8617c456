"""The pre-warmed GX worker: a subprocess that imports GX early and validates once.

Importing GX takes 5–8 s. The nightly run starts ``python -m smhp.pipeline.quality serve``
at its beginning, so the import overlaps ingest and ``dbt build``; when the candidate is
ready the run sends one request (the database and the expectations folder, as JSON on
stdin) and reads the results (JSON on stdout).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import IO

from smhp.pipeline.quality import pool
from smhp.pipeline.quality.gx import import_gx, validate
from smhp.pipeline.quality.report import CheckResult
from smhp.pipeline.quality.suites import EXPECTATIONS_DIR, QualityError
from smhp.settings import DEFAULTS, REPO_ROOT


class GxWorkerError(QualityError):
    """The GX worker process died, answered nonsense or timed out; the message ends with
    the tail of its stderr."""


class GxWorker:
    """A subprocess that imports GX now and validates one candidate later.

    Construct it at the start of a nightly run: ``python -m smhp.pipeline.quality serve`` begins
    its 5–8 s import of GX while the parent ingests and runs dbt. :meth:`validate` sends
    the one request and waits for the results; :meth:`close` kills a worker that was never
    used (a run that failed early). The worker opens the database read-only and closes it
    before it answers, so the parent may write the candidate again afterwards; it must not
    hold the candidate open read-write while :meth:`validate` runs (DuckDB lets no other
    process read a file open for writing).
    """

    def __init__(
        self,
        expectations_dir: Path = EXPECTATIONS_DIR,
        *,
        timeout: float = 300.0,
        python: str | None = None,
        pool: Path | None = None,
    ) -> None:
        self.expectations_dir = Path(expectations_dir).resolve()
        self.timeout = timeout
        self._python = python
        self._used = False
        #: A warm pool to ask instead (``smhp.pipeline.quality.pool``), if one is set up.
        self._pool = pool if pool is not None else _pool_from_env()
        self._proc: subprocess.Popen[bytes] | None = None
        # kept open for the worker's lifetime (closed in close()): a file, not a pipe, so a
        # chatty worker can never block on a full stderr pipe nobody reads
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        if self._pool is None:
            self._start()

    def _start(self) -> None:
        """Start the worker subprocess: its GX import begins now."""
        env = dict(os.environ)
        env["GX_ANALYTICS_ENABLED"] = "False"
        env["TQDM_DISABLE"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._proc = subprocess.Popen(
            [self._python or sys.executable, "-m", "smhp.pipeline.quality", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )

    @property
    def pid(self) -> int | None:
        """The worker subprocess's id (None while a pool serves this run)."""
        return None if self._proc is None else self._proc.pid

    def validate(self, database: Path, expectations_dir: Path | None = None) -> list[CheckResult]:
        """Validate ``database`` in the worker (waits for its GX import if still going).

        Raises :class:`GxWorkerError` with the tail of the worker's stderr if it dies,
        answers something that is not a result list, or takes longer than ``timeout``
        seconds (then it is killed). A worker validates once.
        """
        if self._used:
            raise GxWorkerError("this GX worker was already used: start a new one per run")
        self._used = True
        request = {
            "database": str(Path(os.path.realpath(database))),
            "expectations_dir": str(Path(expectations_dir or self.expectations_dir).resolve()),
        }
        if self._pool is not None:
            try:
                return _results(pool.ask(self._pool, request, self.timeout), "GX pool")
            except TimeoutError:
                raise GxWorkerError(
                    f"the GX pool at {self._pool} gave no answer within {self.timeout:.0f} s"
                ) from None
            except OSError:  # no pool listening there after all: a worker of our own
                self._start()
        assert self._proc is not None
        started = time.perf_counter()
        try:
            out, _ = self._proc.communicate(
                (json.dumps(request) + "\n").encode("utf-8"), timeout=self.timeout
            )
        except subprocess.TimeoutExpired:
            self._kill()
            raise GxWorkerError(
                f"GX worker gave no answer within {self.timeout:.0f} s and was killed"
                + self._stderr_tail()
            ) from None
        if self._proc.returncode != 0:
            raise GxWorkerError(
                f"GX worker exited with code {self._proc.returncode} after "
                f"{time.perf_counter() - started:.1f} s" + self._stderr_tail()
            )
        try:
            return _results(out, "GX worker")
        except GxWorkerError as exc:
            raise GxWorkerError(str(exc) + self._stderr_tail()) from None

    def close(self) -> None:
        """Kill the worker if it is still running (never used, or abandoned) and clean up."""
        if self._proc is None:
            self._stderr.close()
            return
        self._kill()
        for stream in (self._proc.stdin, self._proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()
        self._stderr.close()

    def __enter__(self) -> GxWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _kill(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()

    def _stderr_tail(self, lines: int = 15) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - 4000))
            text = self._stderr.read().decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        return ("; worker stderr:\n" + "\n".join(tail)) if tail else "; worker stderr is empty"


def _pool_from_env() -> Path | None:
    """``SMHP_QUALITY_POOL``: the socket of a warm pool, if set and there."""
    path = os.environ.get(pool.POOL_ENV, DEFAULTS[pool.POOL_ENV]).strip()
    return Path(path) if path and Path(path).exists() else None


def _results(out: bytes, who: str) -> list[CheckResult]:
    """The results in an answer, or GxWorkerError saying what came instead."""
    try:
        data = json.loads(out)
    except ValueError as exc:
        raise GxWorkerError(f"{who} answered something that is not JSON ({exc})") from None
    if isinstance(data, dict) and "error" in data:
        raise GxWorkerError(f"{who} could not validate: {data['error']}")
    try:
        return [CheckResult(**item) for item in data]
    except TypeError as exc:
        raise GxWorkerError(f"{who} answered something that is not a result list ({exc})") from None


def serve(stdin: IO[str] = sys.stdin) -> int:
    """The worker: import GX, wait for one request on stdin, answer on stdout, exit.

    Anything printed while working goes to stderr, so stdout carries only the answer.
    End of input without a request (the parent closed or died) exits quietly.
    """
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import_gx()  # the slow part, paid while the parent ingests and builds
    import duckdb  # noqa: F401  (and the frame reader's import)

    line = stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    results = validate(Path(request["database"]), Path(request["expectations_dir"]))
    with answer:
        json.dump([asdict(r) for r in results], answer)
    return 0
