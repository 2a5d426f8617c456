"""The production cost of a password hash.

The other tests hash at argon2id's cheapest parameters (``cheap_password_hashes`` in
``tests/conftest.py``); this one checks, in a process of its own, the parameters every
real hash gets: argon2id, 64 MiB, 3 passes, 4 lanes (RFC 9106's low-memory profile).
"""

from __future__ import annotations

import subprocess
import sys

from smhp.access import passwords

HASH_ONE = "from smhp.access.passwords import hash_password; print(hash_password('a' * 12))"


def test_a_real_hash_costs_64_mib_and_3_passes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HASH_ONE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    encoded = done.stdout.strip()
    assert encoded.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(encoded, "a" * 12)  # verifies here, whatever this cost
    assert not passwords.verify_password(encoded, "b" * 12)
