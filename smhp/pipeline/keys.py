"""The pseudonymisation key: made, loaded, checked and fingerprinted in one place.

Every ``student_key`` is an HMAC of an NHS number under this key (``smhp.pipeline.pseudonymise``),
so the key decides two things: whether anyone who sees the warehouse can reverse the
pseudonyms (a guessable key: NHS numbers are few enough to try them all), and whether
tonight's pseudonyms match last night's (a changed key splits every student in two).
Hence the rules here:

- **Only random keys.** ``smhp keygen`` writes 32 random bytes as 64 hex characters to a
  file only its owner can read. Loading accepts nothing else: no passphrase, no short or
  hand-made key, and a key file readable by group or others is refused.
- **The demo key stays in the demo.** Its text is in this repository, so its pseudonyms
  are reversible by anyone; a run may use it only for a warehouse in a folder that
  ``smhp demo`` marked as a demo folder.
- **A fingerprint, never the key.** Each run records ``fingerprint(key)`` so the next run
  can tell that the key changed before it loads anything (``smhp.pipeline.nightly``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from smhp.settings import SettingsError

KEY_ENV = "SMHP_PSEUDONYM_KEY"
KEY_FILE_ENV = "SMHP_PSEUDONYM_KEY_FILE"
KEY_BYTES = 32
#: A random 64-hex-digit key shows nearly all 16 digits (fewer than 10: odds below 1e-12);
#: fewer means a key typed or patterned by hand.
MIN_DISTINCT_DIGITS = 10
#: Written by ``smhp demo`` into its folder: the one place the demo key may be used.
DEMO_MARKER = ".smhp-demo"
_FINGERPRINT_MESSAGE = b"smhp pseudonym key fingerprint v1"
_HEX_DIGITS = frozenset("0123456789abcdef")


class KeyChanged(SettingsError):
    """The key differs from the one the published data was built with."""


def fingerprint(key: bytes) -> str:
    """A short, non-reversible name of ``key``: safe to print, log and store."""
    return hmac.new(key, _FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def new_key_text() -> str:
    """A new key in the keygen format: 64 lower-case hex characters and a newline."""
    return secrets.token_bytes(KEY_BYTES).hex() + "\n"


def write_key_file(path: Path) -> str:
    """Create ``path`` (mode 0600, never over an existing file) with a new key; return its
    fingerprint. ``FileExistsError`` if the file exists: overwriting a key loses it, and
    with it every pseudonym already published."""
    text = new_key_text()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return fingerprint(parse_key(text, str(path)))


def parse_key(text: str, where: str) -> bytes:
    """The 32 key bytes of a key in the keygen format; ``where`` names its origin in the
    error (the value itself is never shown)."""
    value = text.strip()
    fix = "Create a key with `smhp keygen --out FILE` and set SMHP_PSEUDONYM_KEY_FILE=FILE."
    if len(value) != 2 * KEY_BYTES or not set(value.lower()) <= _HEX_DIGITS:
        raise SettingsError(
            f"{where} does not hold a key made by `smhp keygen` (64 hex characters, "
            f"32 random bytes); passphrases and hand-made keys are refused. {fix}"
        )
    if len(set(value.lower())) < MIN_DISTINCT_DIGITS or _repeats(value.lower()):
        raise SettingsError(
            f"{where} holds a patterned, hand-made key (too few distinct hex digits), "
            f"not a random one. {fix}"
        )
    return bytes.fromhex(value)


def _repeats(value: str) -> bool:
    """Whether ``value`` is a shorter block repeated (``0123456789abcdef`` four times)."""
    return any(value == value[:n] * (len(value) // n) for n in (1, 2, 4, 8, 16, 32))


def _read_key_file(name: str) -> str:
    path = Path(name)
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            raise SettingsError(
                f"{KEY_FILE_ENV}: the key file {path} can be read by others "
                f"(mode {mode & 0o777:04o}); run `chmod 600 {path}`. Refusing to start."
            )
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise SettingsError(
            f"{KEY_FILE_ENV}: the key file {path} cannot be read: {reason}"
        ) from None


def load_key() -> bytes:
    """The pseudonymisation key from ``SMHP_PSEUDONYM_KEY_FILE`` (preferred: a file only
    the service can read) or ``SMHP_PSEUDONYM_KEY``. Never defaulted: a run without a
    usable key must not start."""
    key_file = os.environ.get(KEY_FILE_ENV, "")
    if key_file:
        return parse_key(_read_key_file(key_file), f"{KEY_FILE_ENV} ({key_file})")
    text = os.environ.get(KEY_ENV, "")
    if not text.strip():
        raise SettingsError(
            f"No pseudonymisation key: set {KEY_FILE_ENV} (or {KEY_ENV}) to the key made by "
            "`smhp keygen` before loading extracts. Refusing to start."
        )
    return parse_key(text, KEY_ENV)


def demo_key() -> bytes:
    """The demo's key (public: its text is in ``smhp.demo.generator``), as the demo uses it."""
    from smhp.demo.generator import DEMO_PSEUDONYM_KEY

    return DEMO_PSEUDONYM_KEY.encode("utf-8")


def mark_demo_folder(folder: Path) -> None:
    """Mark ``folder`` as a demo folder: the demo key may build the warehouse in it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / DEMO_MARKER).write_text(
        "Written by `smhp demo`: synthetic data only. The public demo key works only for "
        "the warehouse in this folder.\n",
        encoding="utf-8",
    )


def check_key_for(key: bytes, warehouse: Path) -> None:
    """Refuse the public demo key for any warehouse outside a folder marked by ``smhp demo``."""
    if hmac.compare_digest(key, demo_key()):
        folder = Path(os.path.abspath(warehouse)).parent
        if not (folder / DEMO_MARKER).is_file():
            raise SettingsError(
                f"the demo key works only for the demo folder: {folder} is not one (no "
                f"{DEMO_MARKER}). Create this deployment's own key with `smhp keygen`."
            )


def check_unchanged(key: bytes, published_with: str | None) -> None:
    """Stop a run whose key differs from the one the published data was built with
    (``published_with``: that key's fingerprint; ``None`` when no run recorded one)."""
    now = fingerprint(key)
    if published_with is None or hmac.compare_digest(now, published_with):
        return
    raise KeyChanged(
        f"NOT PUBLISHED: the pseudonymisation key has changed (its fingerprint is {now}; the "
        f"published data was built with {published_with}): loading with it would split every "
        "student in two, so nothing was loaded. Use the deployment's key, or rotate it with "
        "a full reload: `smhp nightly --rotate-key` (docs/operations.md)."
    )
