"""`tapwell check target --verify` compares JSON documents by value: a number read exactly
(Decimal 1.00) and the same number read through float (1.0) are one number. The check's
suite renames each stream with a random hex suffix; a suffix such as `86e881` looks like a
three-digit exponent, which sent the lines (holding the name) to the exact reader while the
read-back rows (without it) went through float, and the nested case failed about one run in
six (CI, 2026-12-06)."""

from __future__ import annotations

from decimal import Decimal

from tapwell.sdk.check.verify import normal

ITEMS = {"type": ["null", "array"], "items": {"type": "object"}}


def test_a_number_read_exactly_or_through_float_is_one_number() -> None:
    exact = [{"price": Decimal("1.00"), "qty": 2, "big": 9007199254740993}]
    floats = [{"price": 1.0, "qty": 2.0, "big": 9007199254740993}]
    assert normal(ITEMS, exact) == normal(ITEMS, floats)
    assert normal(ITEMS, '[{"price":1.00}]') == normal(ITEMS, [{"price": 1.0}])


def test_a_number_is_not_its_text_and_values_still_differ() -> None:
    assert normal(ITEMS, [{"price": 1}]) != normal(ITEMS, [{"price": "1"}])
    assert normal(ITEMS, [{"price": Decimal("1.01")}]) != normal(ITEMS, [{"price": 1.0}])
    assert normal(ITEMS, [{"ok": True}]) != normal(ITEMS, [{"ok": 1}])
