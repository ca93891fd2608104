"""Corrupted state files, as a crash, a full disk or a hand edit leaves them, for the tests of
every tap's `--state` (tests/unit/test_tap_state_input.py, tests/integration's tap-mysql one).
Each bookmark names the stream `customers`; a test renames it to one of its tap's streams."""

from __future__ import annotations

# (file content, what the one error line says after "state file PATH")
GENERIC_SHAPES: list[tuple[bytes, str]] = [
    (b"", "is empty; write {} to it to start from scratch, or restore the last good state"),
    (b" \n\t\n", "is empty"),
    (b'{"bookmarks": {"customers": {"replication_key": "upd', "is not valid JSON"),
    (b"\x00" * 64, "is not valid JSON"),
    (b'{"bookmarks": {}}\x00\x00', "is not valid JSON"),
    (b"[" * 100_000 + b"12345678901234567890", "is not valid JSON"),
    (b"\xff\xfe{}", "is not valid JSON"),
    (b"[]", 'must be a JSON object like {"bookmarks": {}}, not an array'),
    (b"42", "must be a JSON object"),
    (b'"state"', "must be a JSON object"),
    (b"null", "must be a JSON object"),
    (b'{"type": "STATE", "value": [1]}', "must be a JSON object"),
    (
        b'{"bookmarks": []}',
        ": bookmarks must be an object of stream name -> bookmark, not an array",
    ),
    (b'{"bookmarks": "customers"}', ": bookmarks must be an object"),
    (b'{"bookmarks": null}', ": bookmarks must be an object"),
    (
        b'{"bookmarks": {"customers": "2024-01-01"}}',
        ": bookmarks.customers must be an object of bookmark keys, not a string",
    ),
    (b'{"bookmarks": {"customers": ["2024-01-01"]}}', ": bookmarks.customers must be an object"),
    (b'{"bookmarks": {"customers": 7}}', ": bookmarks.customers must be an object"),
    (b'{"bookmarks": {"a.b\\nc": "x"}}', ': bookmarks["a.b\\nc"] must be an object'),
    (b'{"currently_syncing": 5}', ": currently_syncing must be a stream name"),
    (b'{"currently_syncing": ["customers"]}', ": currently_syncing must be a stream name"),
    (
        b'{"bookmarks": {"customers": {"version": "1700000000000"}}}',
        ": bookmarks.customers.version must be an integer",
    ),
    (
        b'{"bookmarks": {"customers": {"version": true}}}',
        ": bookmarks.customers.version must be an integer",
    ),
    (
        b'{"bookmarks": {"customers": {"replication_key": ["updated_at"]}}}',
        ": bookmarks.customers.replication_key must be a string",
    ),
    (
        b'{"bookmarks": {"customers": {"initial_full_table_complete": "yes"}}}',
        ": bookmarks.customers.initial_full_table_complete must be true or false",
    ),
    (
        b'{"bookmarks": {"customers": {"replication_key_value": {"at": 1}}}}',
        ": bookmarks.customers.replication_key_value must be one value",
    ),
]
