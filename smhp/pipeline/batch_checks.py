"""The contract's row checks over whole columns: which rows are *proven* valid.

Checking every value in Python (``validate.check_row``) costs far more than reading the
files. Here the same rules are asked of whole columns at once (Arrow compute and numpy),
but only as a sufficient condition: a row is proven valid when every value is in the plain
ASCII form the contract describes and passes its rule. Any other row (a broken rule, or an
unusual value such as non-ASCII digits, which Python's own parsers may still accept) is
handed to ``validate.check_row``, which stays the one definition of a row's problems, their
order and their wording. So the answer is the same as checking every row in Python, by
construction, and the Python path runs only for the few rows that are not plainly valid.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from smhp.pipeline.contract import ColumnRule, SourceContract

#: Every character for which Python's ``str.isspace()`` is true: the ones ``str.strip()``
#: removes, so the text rule of ``validate`` (a value with surrounding spaces) is asked
#: here of exactly the same characters (tests/test_ingest_vectorised.py checks the list).
PYTHON_SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_SPACE_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in PYTHON_SPACES) + "]"
_SURROUNDING_SPACE = f"^{_SPACE_CLASS}|{_SPACE_CLASS}$"
#: The fixed-width forms of a date, a timestamp and an NHS number ("d": an ASCII digit).
_DATE_FORM = "dddd-dd-dd"
_TIMESTAMP_FORM = "dddd-dd-dd dd:dd:dd"
_NHS_FORM = "dddddddddd"
#: Up to 18 digits fit an int64; a longer number is left to the Python check.
_ASCII_INTEGER = r"^[0-9]{1,18}$"
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_NHS_WEIGHTS = np.arange(10, 1, -1)


def normalised_refs(values: pa.Array) -> pa.Array:
    """``validate.normalise_student_ref`` over a column: every space removed."""
    return pc.replace_substring(values, " ", "")


def _in_form(values: pa.Array, form: str) -> tuple[np.ndarray, np.ndarray]:
    """Per row, whether the value is written exactly in ``form`` (its every byte checked,
    so nothing but ASCII passes), and the values' digits as a (rows, width) array: the
    digit values where ``form`` has a "d", the rows not in form read as all zeros.

    Byte by byte in numpy over the column's data buffer, not a regular expression per
    value: the date and timestamp columns are most of what the checks read."""
    width = len(form)
    ok = pc.equal(pc.binary_length(values), width).to_numpy(zero_copy_only=False)
    zeros = form.replace("d", "0")
    fixed = values if ok.all() else pc.if_else(pa.array(ok), values, zeros)
    offsets = np.frombuffer(fixed.buffers()[1], dtype=np.int32)
    offsets = offsets[fixed.offset : fixed.offset + len(fixed) + 1]
    data = np.frombuffer(fixed.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    chars = data.reshape(len(fixed), width)
    digits = chars - np.uint8(ord("0"))  # a byte below "0" wraps round to above 9
    for position, kind in enumerate(form):
        if kind == "d":
            ok &= digits[:, position] <= 9
        else:
            ok &= chars[:, position] == ord(kind)
    digits[~ok] = 0
    return ok, digits


def _number(digits: np.ndarray, start: int, stop: int) -> np.ndarray:
    """The decimal number written by digit columns ``start:stop``."""
    result = np.zeros(len(digits), dtype=np.int32)
    for column in range(start, stop):
        result = result * 10 + digits[:, column]
    return result


def _calendar(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ``YYYY-MM-DD...`` digits: whether the date exists (as ``date`` accepts it) and
    the date as the number YYYYMMDD (comparable with the extract date)."""
    year, month, day = _number(digits, 0, 4), _number(digits, 5, 7), _number(digits, 8, 10)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    known_month = (month >= 1) & (month <= 12)
    days = _DAYS_IN_MONTH[np.where(known_month, month, 0)] + (leap & (month == 2))
    exists = (year >= 1) & known_month & (day >= 1) & (day <= days)
    return exists, year * 10_000 + month * 100 + day


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False)


def _moment_ok(rule: ColumnRule, values: pa.Array, extract_days: np.ndarray) -> np.ndarray:
    """A plain ASCII date/timestamp that exists and is not after the extract date."""
    is_date = rule.type == "date"
    ok, digits = _in_form(values, _DATE_FORM if is_date else _TIMESTAMP_FORM)
    exists, day = _calendar(digits)
    ok &= exists & (day <= extract_days)
    if not is_date:
        clock = _number(digits, 11, 13) <= 23
        clock &= (_number(digits, 14, 16) <= 59) & (_number(digits, 17, 19) <= 59)
        ok &= clock
    return ok


def _integer_ok(rule: ColumnRule, values: pa.Array) -> np.ndarray:
    ok = _matches(values, _ASCII_INTEGER)
    number = pc.cast(pc.if_else(pa.array(ok), values, "0"), pa.int64()).to_numpy(
        zero_copy_only=False
    )
    if rule.min is not None:
        ok &= number >= rule.min
    if rule.max is not None:
        ok &= number <= rule.max
    return ok


def _nhs_ok(values: pa.Array) -> np.ndarray:
    """Ten ASCII digits (spaces removed) with the right modulus-11 check digit."""
    ok, digits = _in_form(normalised_refs(values), _NHS_FORM)
    check = 11 - (digits[:, :9] @ _NHS_WEIGHTS) % 11
    check = np.where(check == 11, 0, check)  # 10: no valid check digit, never equal
    return ok & (check == digits[:, 9])


def _value_ok(rule: ColumnRule, values: pa.Array, extract_days: np.ndarray) -> np.ndarray:
    """Per row: the non-empty value is proven to pass ``validate._check_value``."""
    if rule.type == "nhs_number":
        return _nhs_ok(values)
    if rule.type == "code":
        codes = pa.array(sorted(rule.values), pa.string())
        return pc.is_in(values, value_set=codes).to_numpy(zero_copy_only=False)
    if rule.type in ("date", "timestamp"):
        return _moment_ok(rule, values, extract_days)
    if rule.type == "integer":
        return _integer_ok(rule, values)
    if rule.type == "text":
        return ~_matches(values, _SURROUNDING_SPACE)
    return np.zeros(len(values), dtype=bool)  # a type this module does not know: Python


def _required(
    rule: ColumnRule, columns: dict[str, pa.Array], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row (as ``validate._is_required``): must the value be set, must it be empty."""
    cond = rule.required_when
    if cond is None:
        return np.full(n, bool(rule.required)), np.zeros(n, dtype=bool)
    other = columns[cond["column"]]
    if cond.get("is_set"):
        met = pc.not_equal(other, "")
    else:
        met = pc.equal(other, pa.scalar(str(cond["equals"]), pa.string()))
    met_np = met.to_numpy(zero_copy_only=False)
    return met_np, ~met_np


def proven_valid(
    contract: SourceContract, columns: dict[str, pa.Array], extract_days: np.ndarray
) -> np.ndarray:
    """Per row: True where ``validate.check_row`` would find no problem, proven over whole
    columns; False where it may find one (the caller asks ``check_row``).

    ``columns`` maps delivered column names to string arrays ("" is empty, never null);
    ``extract_days`` is each row's extract date as the number YYYYMMDD.
    """
    n = len(extract_days)
    ok = np.ones(n, dtype=bool)
    for rule in contract.columns:
        values = columns[rule.delivered_as]
        empty = pc.equal(values, "").to_numpy(zero_copy_only=False)
        required, must_be_empty = _required(rule, columns, n)
        set_ok = ~must_be_empty & _value_ok(rule, values, extract_days)
        ok &= np.where(empty, ~required, set_ok)
        if rule.not_before:
            earlier_rule = contract.columns[contract.delivered_columns.index(rule.not_before)]
            if earlier_rule.type != rule.type:
                return np.zeros(n, dtype=bool)  # not comparable as text: Python decides
            earlier = columns[rule.not_before]
            # Plain ISO dates (timestamps) of one type sort as text as they sort in time.
            in_order = pc.or_(
                pc.or_(pc.equal(values, ""), pc.equal(earlier, "")),
                pc.greater_equal(values, earlier),
            )
            ok &= in_order.to_numpy(zero_copy_only=False)
    return ok
