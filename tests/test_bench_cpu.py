"""The benchmark's CPU accounting (``bench/serving.py``): where the machine's CPU went while
sessions switched pages, the figure that says how long N switches at once must take."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import serving  # noqa: E402


def test_cpu_between_counts_what_each_kind_used_and_a_new_process_whole() -> None:
    before = {1: ("browser", 10.0), 2: ("dashboards", 3.0), 3: ("other", 1.0)}
    after = {1: ("browser", 12.5), 2: ("dashboards", 3.5), 4: ("browser", 0.7)}
    used = serving.cpu_between(before, after)
    assert used == {"browser": 3.2, "dashboards": 0.5, "proxy": 0.0, "driver": 0.0, "other": 0.0}


def test_a_reused_process_id_of_another_kind_counts_whole() -> None:
    used = serving.cpu_between({7: ("other", 50.0)}, {7: ("browser", 2.0)})
    assert used["browser"] == 2.0 and used["other"] == 0.0


def test_the_watch_keeps_the_cpu_of_a_process_that_ended_and_sorts_this_one_as_driver() -> None:
    watch = serving.CpuWatch(every=0.1)
    watch.start()
    busy = subprocess.Popen(  # "dashboard" in its arguments: sorted with the dashboards
        [
            sys.executable,
            "-c",
            "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass",
            "dashboard",
        ]
    )
    busy.wait()
    time.sleep(0.1)
    started = time.process_time()
    while time.process_time() - started < 0.3:
        pass
    used = watch.stop()
    assert used["dashboards"] >= 0.4  # ended before stop(): its last sample counts
    assert used["driver"] >= 0.2


def test_a_watch_never_started_measures_nothing() -> None:
    assert set(serving.CpuWatch().stop().values()) == {0.0}
