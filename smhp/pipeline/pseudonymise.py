"""The one place where student identifiers are pseudonymised.

``student_key = hex(HMAC-SHA256(key, digits of student_ref))``. Keyed, so that nobody
without the partnership's secret can rebuild the mapping from a list of NHS numbers.
"""

from __future__ import annotations

import hashlib
import hmac

from smhp.pipeline.validate import normalise_student_ref


class Pseudonymiser:
    """``student_key`` under one key, for the many refs of a run: each distinct ref is keyed
    once (a student is in several sources and files), from a copy of the HMAC state the key
    was loaded into once, instead of padding the key again for every ref (a quarter of the
    HMAC's cost). The keys live in this object only: never kept."""

    def __init__(self, key: bytes) -> None:
        self._keyed = hmac.new(key, digestmod=hashlib.sha256)
        self._known: dict[str, str] = {}

    def __call__(self, student_ref: str) -> str:
        """The ``student_key`` of ``student_ref`` (spaces in it ignored)."""
        ref = normalise_student_ref(student_ref)
        found = self._known.get(ref)
        if found is None:
            mac = self._keyed.copy()
            mac.update(ref.encode("ascii"))
            found = self._known[ref] = mac.hexdigest()
        return found
