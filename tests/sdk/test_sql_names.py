"""tapwell.sdk.sql_names: the one copy of identifier quoting and 63-byte shortening (issue 12 item 4),
and that both SQL targets, the runner's PostgreSQL store and the demo use it rather than a copy."""

from __future__ import annotations

import hashlib

import tapwell.runner.demo
import tapwell.runner.statestore_pg
import tapwell.targets.duckdb.ddl
import tapwell.targets.duckdb.loader
import tapwell.targets.postgres.config
import tapwell.targets.postgres.ddl
from tapwell.sdk.sql_names import MAX_IDENTIFIER_BYTES, quote_ident, shorten


def test_quote_ident_doubles_double_quotes_and_keeps_everything_else() -> None:
    assert quote_ident("orders") == '"orders"'
    assert quote_ident('a"b') == '"a""b"'
    assert quote_ident("q%b 🌟 ; drop") == '"q%b 🌟 ; drop"'
    assert quote_ident("") == '""'


def test_shorten_keeps_short_names_and_cuts_long_ones_on_a_character_boundary() -> None:
    assert MAX_IDENTIFIER_BYTES == 63
    assert shorten("x" * 63) == "x" * 63
    long = "é" * 40  # 80 bytes; byte 54 falls inside a character
    short = shorten(long)
    assert short == "é" * 27 + "_" + hashlib.sha1(long.encode()).hexdigest()[:8]
    assert len(short.encode()) <= MAX_IDENTIFIER_BYTES and short == shorten(long)
    assert shorten("x" * 64) != shorten("x" * 65)


def test_every_user_takes_the_kits_rules() -> None:
    assert tapwell.targets.postgres.ddl.shorten is shorten
    assert tapwell.targets.postgres.config.shorten is shorten
    for module in (
        tapwell.targets.duckdb.ddl,
        tapwell.targets.duckdb.loader,
        tapwell.runner.statestore_pg,
        tapwell.runner.demo,
    ):
        assert module.quote_ident is quote_ident
