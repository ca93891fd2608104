"""schema.normalized: a Decimal without its fraction's trailing zeros, never rounded (Decimal's
own normalize() rounds to the context's 28 digits)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tapwell.singer.number_steps import normalized


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("12345678901234567890.123456789", "12345678901234567890.123456789"),
        ("12345678901234567890.1234567890000", "12345678901234567890.123456789"),
        ("1" * 60 + ".50", "1" * 60 + ".5"),
        ("123.4500", "123.45"),
        ("1E+2", "1E+2"),
        ("100", "1E+2"),
        ("-0.000", "-0"),
        ("1E-400", "1E-400"),
    ],
)
def test_trailing_zeros_go_and_no_digit_is_lost(text: str, want: str) -> None:
    got = normalized(Decimal(text))
    assert str(got) == want
    assert got == Decimal(text)
