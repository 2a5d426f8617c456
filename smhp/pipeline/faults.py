"""Named pause points, so the fault tests can kill a real run at an exact moment.

Set ``SMHP_TEST_PAUSE_AT=<point>`` (and optionally ``SMHP_TEST_PAUSE_SECONDS``) and the run
announces the pause on stderr and sleeps there. Points: ``dbt`` (the candidate is loaded,
dbt has not started), ``publish`` (the candidate is already renamed to its snapshot file,
the published link not yet swapped — the most delicate moment). Never set in production.
"""

from __future__ import annotations

import os
import sys
import time


def pause_point(name: str) -> None:
    if os.environ.get("SMHP_TEST_PAUSE_AT") == name:
        print(f"[test] paused at {name}", file=sys.stderr, flush=True)
        time.sleep(float(os.environ.get("SMHP_TEST_PAUSE_SECONDS", "60")))
