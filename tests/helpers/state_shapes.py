"""Corrupted state files, as a crash, a full disk or a hand edit leaves them, for the tests of
every tap's `--state` (tests/sdk/test_tap_state_input.py, tests/taps/mysql's).

Each entry is (file content, the start of the one error line after `NAME: error: `), with
`{path}` for the state file's path and `customers` for a stream the tap syncs (a test puts in
one of its own). These are the generic shapes every tap on tapwell.sdk.tap_cli refuses; what a
bookmark's keys hold is checked by the tap that reads them."""

from __future__ import annotations

_FIX_STREAM = (
    "correct it, or remove bookmarks.customers from the state to sync the stream from the start"
)

GENERIC_SHAPES: list[tuple[bytes, str]] = [
    (
        b"",
        "state file {path} is empty; write {} to it to start from scratch, or restore the last "
        "good state",
    ),
    (b" \n\t\n", "state file {path} is empty"),
    (
        b'{"bookmarks": {"customers": {"replication_key": "upd',
        "state file {path} is not valid JSON",
    ),
    (b"\x00" * 64, "state file {path} is not valid JSON"),
    (b'{"bookmarks": {}}\x00\x00', "state file {path} is not valid JSON"),
    (b"[" * 100_000 + b"12345678901234567890", "state file {path} is not valid JSON"),
    (b"\xff\xfe{}", "state file {path} is not valid JSON"),
    (
        b"[]",
        'state file {path} holds [], not a JSON object like {"bookmarks": {}}; fix the state '
        "file, or remove it to sync every stream from the start",
    ),
    (b"42", "state file {path} holds 42, not a JSON object"),
    (b'"state"', 'state file {path} holds "state", not a JSON object'),
    (b"null", "state file {path} holds null, not a JSON object"),
    (b'{"type": "STATE", "value": [1]}', "state file {path} holds [1], not a JSON object"),
    (
        b'{"bookmarks": []}',
        "state: bookmarks is [], not an object of stream bookmarks; fix the state file, or "
        'replace it with {"bookmarks": {}} to start every stream over',
    ),
    (b'{"bookmarks": "customers"}', 'state: bookmarks is "customers", not an object'),
    (b'{"bookmarks": null}', "state: bookmarks is null, not an object"),
    (
        b'{"bookmarks": {"customers": "2024-01-01"}}',
        f'state: bookmarks.customers is "2024-01-01", not an object; {_FIX_STREAM}',
    ),
    (
        b'{"bookmarks": {"customers": ["2024-01-01"]}}',
        'state: bookmarks.customers is ["2024-01-01"], not an object',
    ),
    (b'{"bookmarks": {"customers": 7}}', "state: bookmarks.customers is 7, not an object"),
    (
        b'{"bookmarks": {"other.stream\\n2": "x"}}',
        'state: bookmarks["other.stream\\n2"] is "x", not an object',
    ),
    (
        b'{"currently_syncing": 5}',
        "state: currently_syncing is 5, not a stream name (a string) or null; correct it, or "
        "remove currently_syncing from the state",
    ),
    (
        b'{"currently_syncing": ["customers"]}',
        'state: currently_syncing is ["customers"], not a stream name',
    ),
]
