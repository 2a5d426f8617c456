"""NHS number checks (modulus 11), shared by the ingest and the demo generator."""

from __future__ import annotations


def normalise(ref: str) -> str:
    """The digits of an NHS number as delivered, spaces removed."""
    return ref.replace(" ", "")


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit of nine digits, or None where no digit is valid."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(digits: str) -> bool:
    """True for exactly ten ASCII digits whose last is the modulus-11 check digit."""
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    return check_digit(digits[:9]) == int(digits[9])
