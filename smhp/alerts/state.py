"""Which signals are active and whom each was told of: so a signal alerts once.

A small JSON file beside the warehouse (``FILE.work/alerts-state.json``, with the run
history and logs), replaced atomically:

- a signal that first appears is told to each of its recipients once;
- while it stays active it is not told again (its recipients are remembered);
- once it is gone (resolved) it is forgotten, so it can fire again when it returns;
- a recipient is remembered only once their message was *delivered*: a failed send is
  retried after the next run, and a recipient added to the alerts file later still hears
  of a signal that is active.

A lock file beside it keeps ``smhp alerts`` and the nightly add-on from telling the same
signal twice at the same moment.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from smhp.atomic import write_atomically
from smhp.pipeline.publish import WarehouseLayout

STATE_NAME = "alerts-state.json"
VERSION = 1


def state_path(warehouse: Path) -> Path:
    """The state file of the published warehouse ``warehouse`` (its work folder)."""
    return WarehouseLayout(Path(warehouse)).work_dir / STATE_NAME


@dataclass
class AlertState:
    """The active signals by key: when each first appeared, and who has been told."""

    first_seen: dict[str, str] = field(default_factory=dict)
    told: dict[str, set[str]] = field(default_factory=dict)

    def was_told(self, key: str, email: str) -> bool:
        """Whether ``email`` has already been told of the active signal ``key``."""
        return email in self.told.get(key, set())

    def is_new(self, key: str) -> bool:
        """Whether ``key`` was not active at the last evaluation."""
        return key not in self.first_seen

    def advanced(
        self,
        active: Iterable[str],
        delivered: Iterable[tuple[str, str]],
        now: datetime,
        undelivered: Iterable[str] = (),
    ) -> AlertState:
        """The state after an evaluation: the ``active`` signal keys (the others are
        resolved and dropped) and, added to whom each was told, the ``delivered``
        (key, email) pairs. A signal new to this evaluation whose messages all failed
        (``undelivered``: the keys of messages not delivered) is not recorded at all: it
        is still new next time, and tried again."""
        told_now: dict[str, set[str]] = {}
        for key, email in delivered:
            told_now.setdefault(key, set()).add(email)
        failed_new = {k for k in undelivered if k not in self.first_seen and k not in told_now}
        keys = [key for key in dict.fromkeys(active) if key not in failed_new]
        stamp = now.astimezone(UTC).isoformat(timespec="seconds")
        return AlertState(
            first_seen={key: self.first_seen.get(key, stamp) for key in keys},
            told={key: self.told.get(key, set()) | told_now.get(key, set()) for key in keys},
        )

    def to_json(self) -> str:
        signals = {
            key: {"first_seen": self.first_seen[key], "told": sorted(self.told.get(key, ()))}
            for key in sorted(self.first_seen)
        }
        return json.dumps({"version": VERSION, "signals": signals}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> AlertState:
        data = json.loads(text)
        if data.get("version") != VERSION:
            raise ValueError(f"alerts state version {data.get('version')!r} is not {VERSION}")
        signals = data["signals"]
        return cls(
            first_seen={key: str(item["first_seen"]) for key, item in signals.items()},
            told={key: set(item["told"]) for key, item in signals.items()},
        )


def load_state(path: Path) -> AlertState:
    """The state at ``path``; empty when there is none yet (nothing was told)."""
    try:
        return AlertState.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AlertState()


def save_state(path: Path, state: AlertState) -> None:
    """Write ``state`` to ``path`` atomically (a crash leaves the old or the new file);
    an unchanged state leaves the file untouched."""
    if state.to_json() == load_state(path).to_json():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, state.to_json())


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the state's lock (waits for another evaluation to finish)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f"{path.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
