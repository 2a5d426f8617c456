"""The machine's processes as ``/proc`` shows them: one reading for the benchmark's memory
sampler (``scale``) and its CPU accounting (``serving``)."""

from __future__ import annotations

import os
from collections.abc import Iterator


def proc_stats() -> Iterator[tuple[int, str, list[bytes]]]:
    """Each live process: its pid, its name (``comm``) and the fields of ``/proc/PID/stat``
    after the name (``[1]`` the parent, ``[11]``/``[12]`` user/system CPU in clock ticks,
    ``[21]`` resident pages). A process that ends while it is read is left out."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        name, _, rest = stat.partition(b" (")[2].rpartition(b")")
        yield int(entry.name), name.decode(errors="replace"), rest.split()
