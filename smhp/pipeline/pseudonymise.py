"""The one place where student identifiers are pseudonymised.

``student_key = hex(HMAC-SHA256(key, digits of student_ref))``. Keyed, so that nobody
without the partnership's secret can rebuild the mapping from a list of NHS numbers.
"""

from __future__ import annotations

import hashlib
import hmac

from smhp.pipeline.validate import normalise_student_ref


def student_key(key: bytes, student_ref: str) -> str:
    return hmac.new(
        key, normalise_student_ref(student_ref).encode("ascii"), hashlib.sha256
    ).hexdigest()
