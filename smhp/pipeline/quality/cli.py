"""``python -m smhp.pipeline.quality``: ``serve`` (the worker), ``pool --socket PATH`` (a warm
pool of workers) or ``check DATABASE`` (by hand)."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from smhp.pipeline.quality.gx import validate
from smhp.pipeline.quality.report import failed_errors, failed_warnings
from smhp.pipeline.quality.worker import serve


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m smhp.pipeline.quality serve`` (the worker) or ``check DATABASE`` (by hand)."""
    parser = argparse.ArgumentParser(prog="python -m smhp.pipeline.quality")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="the GxWorker subprocess: one JSON request on stdin")
    pool = sub.add_parser("pool", help="a warm pool of GX workers on a Unix socket (pool.py)")
    pool.add_argument("--socket", type=Path, required=True)
    check = sub.add_parser("check", help="validate a warehouse file and print every result")
    check.add_argument("database", type=Path)
    check.add_argument("--expectations", type=Path, default=None)
    check.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve()
    if args.command == "pool":
        from smhp.pipeline.quality.pool import run_pool

        return run_pool(args.socket)
    from smhp.settings import Settings

    folder = args.expectations or Settings.from_env().expectations_dir
    started = time.perf_counter()
    results = validate(args.database, folder)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for r in results:
            print(r.line())
        errors, warned = len(failed_errors(results)), len(failed_warnings(results))
        print(
            f"{len(results)} expectations in {time.perf_counter() - started:.1f} s: "
            f"{errors} blocking failed, {warned} warnings"
        )
    return 1 if failed_errors(results) else 0
