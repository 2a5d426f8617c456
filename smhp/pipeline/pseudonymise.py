"""The one place where student identifiers are pseudonymised.

``student_key = hex(HMAC-SHA256(key, digits of student_ref))``. Keyed, so that nobody
without the partnership's secret can rebuild the mapping from a list of NHS numbers.
"""

from __future__ import annotations

import hashlib
import threading

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from smhp.pipeline.batch_checks import normalised_refs

#: HMAC (RFC 2104) over SHA-256 as one SQL expression over a column of refs' digits:
#: DuckDB computes it for a whole batch without Python's lock, so the ingest's other
#: threads parse and check files meanwhile (a Python HMAC per ref held the lock for a
#: sixth of the ingest).
_HMAC_SQL = "select sha256($outer || unhex(sha256($inner || encode(ref)))) as student_key from refs"
_BLOCK = 64  # SHA-256's block size: the HMAC key is padded (or first hashed) to it


class Pseudonymiser:
    """``student_key`` under one key, for whole columns of refs at once. The key lives in
    this object only (as its two padded forms, passed to DuckDB as query parameters of an
    in-memory database per thread): never stored, logged or written."""

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_BLOCK, b"\0")
        self._pads = {
            "inner": bytes(b ^ 0x36 for b in padded),
            "outer": bytes(b ^ 0x5C for b in padded),
        }
        self._local = threading.local()

    def keys(self, refs: pa.Array) -> pa.Array:
        """The ``student_key`` of each ref (a string array without nulls; spaces in a ref
        ignored), in order: one HMAC per distinct ref, not per row."""
        encoded = pc.dictionary_encode(normalised_refs(refs))
        return self._hmac(encoded.dictionary).take(encoded.indices)

    def _hmac(self, digits: pa.Array) -> pa.Array:
        con = getattr(self._local, "con", None)
        if con is None:
            # one thread: the ingest's threads already keep the cores busy
            con = self._local.con = duckdb.connect(config={"threads": 1})
        con.register("refs", pa.table({"ref": digits}))
        try:
            table = con.sql(_HMAC_SQL, params=self._pads).to_arrow_table()
        finally:
            con.unregister("refs")
        return pc.cast(table.column("student_key").combine_chunks(), pa.string())

    def __call__(self, student_ref: str) -> str:
        """The ``student_key`` of one ``student_ref`` (spaces in it ignored)."""
        return self.keys(pa.array([student_ref], pa.string()))[0].as_py()
