"""``smhp.exiting.exit_now``: the exit of the ``smhp`` command and of the GX worker, which
skips the interpreter's teardown but not what a normal exit must do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROGRAM = """
import atexit, sys, threading, time
from smhp.exiting import exit_now
atexit.register(lambda: open(sys.argv[1], "a").write("handler ran"))
def late():
    time.sleep(0.5)
    open(sys.argv[1], "a").write("thread done, ")
threading.Thread(target=late).start()
print("buffered, no newline", end="")
sys.stderr.write("on stderr")
exit_now(3)
print("never")
"""


def test_exit_now_waits_for_threads_runs_atexit_flushes_and_keeps_the_code(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "atexit.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(marker)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert done.stdout == "buffered, no newline"  # stdout to a pipe is block-buffered
    assert done.stderr == "on stderr"
    assert marker.read_text() == "thread done, handler ran"  # a normal exit's order
