"""`tapwell.schema` as tapwell 0.1 had it: one module with the record check, the date-time rule
and the number steps, whose names now live in the modules split out of tapwell.singer.schema.
Only the 0.1 alias imports this (tapwell._moved); new code imports from the modules themselves."""

from __future__ import annotations

from tapwell.singer.datetime_rule import (  # noqa: F401
    DATETIME_RULE,
    TIME_RULE,
    format_parser,
    inline_parser,
    parse_date,
    parse_datetime,
    parse_time,
)
from tapwell.singer.fraction_digits import CUT_GUARDS, FRACTIONS, FractionNotes, cut_fraction  # noqa: F401
from tapwell.singer.number_steps import (  # noqa: F401
    FLOAT_ON_STEP,
    exact_step,
    float_on_step,
    multiple_of,
    normalized,
    number_step,
    step_problem,
    ten_to_minus,
    text_off_step,
)
from tapwell.singer.record_check import (  # noqa: F401
    Check,
    CheckCode,
    Then,
    build_function,
    check_code,
    compile_checker,
)
from tapwell.singer.schema import *  # noqa: F403
from tapwell.singer.value_check import (  # noqa: F401
    FIX_KEY,
    FIX_REQUIRED,
    FIX_VALUE,
    fast_types,
    shown,
    value_check,
    with_fix,
)
