"""``smhp pack [--warehouse FILE] [--out DIR] [--kind board|manager|funder|all]``: render the
packs of the published snapshot now.

The nightly run renders them by itself after every run that publishes
(``smhp.packs.nightly``); this command re-renders them, e.g. after a failed render or a
change to the packs. By default every pack goes into the published snapshot's packs folder
(``FILE.snapshots/<run_id>.packs/``, where the dashboard finds them); ``--out`` writes them
(and their manifest) elsewhere instead, ``--kind`` renders one kind only.

Exit codes: 0 done, 1 the packs could not be rendered (the manifest says why) or no
published warehouse.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smhp.settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1
ALL = "all"


def cmd_pack(args: argparse.Namespace) -> int:
    from smhp.packs.render import PackRenderError, render_packs
    from smhp.packs.store import KINDS, packs_dir
    from smhp.warehouse import resolve_published

    snapshot = resolve_published(Settings.from_env(warehouse=args.warehouse).warehouse)
    out = Path(args.out) if args.out else packs_dir(snapshot)
    kinds = KINDS if args.kind == ALL else (args.kind,)
    try:
        manifest = render_packs(snapshot, out=out, kinds=kinds)
    except PackRenderError as exc:
        print(f"smhp pack: NOT RENDERED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for pack in manifest.packs:
        print(f"{out / pack.file}  {pack.title}  ({pack.seconds:.1f} s)")
    print(f"{len(manifest.packs)} packs of run {manifest.run_id} in {manifest.seconds:.1f} s")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``pack`` command to the ``smhp`` parser's sub-commands."""
    from smhp.packs.store import KINDS

    p = subparsers.add_parser(
        "pack",
        help="render the PDF packs (board, service managers, funder) of the published data",
        description="The board pack, one service-manager pack per institution and the funder "
        "pack of the published snapshot, as tagged PDF (docs/dashboard.md, Packs).",
    )
    p.add_argument("--warehouse", help="published DuckDB file (default: $SMHP_WAREHOUSE)")
    p.add_argument("--out", help="folder to write (default: the snapshot's packs folder)")
    p.add_argument("--kind", choices=(*KINDS, ALL), default=ALL, help="which packs (default all)")
    p.set_defaults(func=cmd_pack)
