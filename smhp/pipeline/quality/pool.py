"""A warm pool for the GX worker: GX imported once, then one forked worker per request.

Each nightly run pays the 3–8 s CPU of importing GX in its worker (``worker.py``), which
is right for one run a night. Many runs on one machine — the test suite's ~50 real
nightly runs, a benchmark, or several partnerships' warehouses built one after another —
pay it every time. The pool imports GX once and listens on a Unix socket; for each
connection it forks a child that already has GX loaded, which answers exactly as a
worker does (one JSON request line, one JSON answer) and exits. The fork keeps every
validation in a fresh process, as before: nothing of one run's validation (GX's caches,
an open file) can reach the next.

Start it with ``python -m smhp.pipeline.quality pool --socket PATH`` and set
``SMHP_QUALITY_POOL=PATH``: ``GxWorker`` then asks the pool and starts a worker of its own
only when the pool is not there. The pool exits when its standard input is closed, so it
never outlives whoever started it; the socket is private to its account (0600).
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import sys
import threading
from dataclasses import asdict
from pathlib import Path

from smhp.pipeline.quality.gx import import_gx, validate

POOL_ENV = "SMHP_QUALITY_POOL"


def answer(request_line: bytes) -> bytes:
    """The answer to one worker request: the results as JSON, or ``{"error": ...}``."""
    try:
        request = json.loads(request_line)
        results = validate(Path(request["database"]), Path(request["expectations_dir"]))
        return json.dumps([asdict(r) for r in results]).encode("utf-8")
    except Exception as exc:  # the asking run turns it into GxWorkerError
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode("utf-8")


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:  # in the forked child
        line = self.rfile.readline()
        if line.strip():
            self.wfile.write(answer(line))


class _Pool(socketserver.ForkingMixIn, socketserver.UnixStreamServer):
    block_on_close = False


def _exit_when_stdin_closes() -> None:
    """Stop the pool when whoever started it has gone (its end of stdin closed)."""
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)


def run_pool(path: Path) -> int:
    """Import GX, listen on ``path`` and fork one worker per connection, until stdin ends."""
    os.environ["TQDM_DISABLE"] = "1"  # as in a worker: no progress bars in a run's log
    import_gx()
    import duckdb  # noqa: F401  (the frame reader's import, paid once too)

    path.unlink(missing_ok=True)
    old_umask = os.umask(0o177)  # the socket: this account only
    try:
        server = _Pool(str(path), _Handler)
    finally:
        os.umask(old_umask)
    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    print(f"quality pool ready on {path}", file=sys.stderr, flush=True)
    server.serve_forever(poll_interval=0.2)
    return 0


def ask(path: Path, request: dict[str, str], timeout: float) -> bytes:
    """Send one request to the pool at ``path`` and return its whole answer.

    Raises ``OSError`` when no pool listens there (the caller starts a worker instead).
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(request).encode("utf-8") + b"\n")
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    return b"".join(chunks)
