"""`tapwell check tap -- COMMAND...`: run any Singer tap and report where it breaks the spec.

Steps: `--about` (optional in the spec, checked when offered), `--discover` and the catalog's
shape, a sync of every stream (incremental where the catalog offers a replication key), then a
second sync resumed from the first run's last STATE.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from tapwell.sdk.check import process
from tapwell.sdk.check.report import Report
from tapwell.sdk.check.stream_rules import StreamValidator, draft_for
from tapwell.singer.catalog import StreamEntry
from tapwell.singer.schema import property_types

ABOUT, DISCOVER, CATALOG, SYNC, RESUME = (
    "about",
    "discover",
    "catalog shape",
    "sync",
    "resumed sync",
)


def check_tap(
    command: Sequence[str],
    *,
    catalog_path: str | None = None,
    state_path: str | None = None,
    timeout: float = 300.0,
    validate_limit: int = 100_000,
    resume: bool = True,
    method: str | None = None,
) -> Report:
    """Check the tap run by `command` (which includes its own `--config`)."""
    report = Report("tap", list(command))
    cmd = list(command)
    about = _about(cmd, report, timeout)
    if catalog_path:
        catalog = orjson.loads(Path(catalog_path).read_bytes())
        report.note(f"used the catalog {catalog_path} as given (no --discover)")
    else:
        catalog = _discover(cmd, report, timeout)
        if catalog is None:
            return report
        catalog = select_everything(catalog, method)
    start_state: dict[str, Any] = {}
    if state_path:
        start_state = orjson.loads(Path(state_path).read_bytes() or b"{}")
    flag = (
        "--properties"
        if about
        and "properties" in about.get("capabilities", [])
        and "catalog" not in about.get("capabilities", [])
        else "--catalog"
    )
    with tempfile.TemporaryDirectory(prefix="tapwell-check-") as tmp:
        cat_file = Path(tmp) / "catalog.json"
        cat_file.write_bytes(orjson.dumps(catalog))
        # RECORDs name the catalog's `stream` (singer-io: the table) or its tap_stream_id
        selected = {
            name
            for s in catalog.get("streams") or []
            if _is_selected(s)
            for name in (s.get("tap_stream_id"), s.get("stream"))
            if name
        }
        first = _sync(
            cmd + [flag, str(cat_file)],
            SYNC,
            start_state,
            selected,
            report,
            timeout,
            validate_limit,
            tmp,
        )
        if first is None:
            return report
        if not first.last_state:
            if any(_replication_key(s) for s in catalog.get("streams") or [] if _is_selected(s)):
                report.add(
                    SYNC,
                    "state-missing",
                    "no STATE message, though incremental streams were synced; "
                    "a runner cannot resume without one",
                )
            return report
        for s in catalog.get("streams") or []:
            if _is_selected(s) and not {s.get("tap_stream_id"), s.get("stream")} & set(
                first.streams
            ):
                report.note(
                    f"selected stream {s.get('tap_stream_id')!r} sent no SCHEMA (not synced?)"
                )
        if resume and not isinstance(first.last_state.get("bookmarks", {}), dict):
            report.note("skipped the resumed sync: the last STATE is malformed")
        elif resume:
            _sync(
                cmd + [flag, str(cat_file)],
                RESUME,
                first.last_state,
                selected,
                report,
                timeout,
                validate_limit,
                tmp,
            )
    return report


def _run_json(cmd: list[str], timeout: float) -> tuple[process.Outcome, bytes]:
    chunks: list[bytes] = []
    outcome = process.run(cmd, lambda _n, line: chunks.append(line), timeout=timeout)
    return outcome, b"".join(chunks)


def _about(cmd: list[str], report: Report, timeout: float) -> dict[str, Any] | None:
    outcome, out = _run_json(cmd + ["--about", "--format", "json"], timeout)
    if outcome.returncode != 0:
        outcome, out = _run_json(cmd + ["--about"], timeout)
    if outcome.returncode != 0:
        report.note("--about is not supported (it is optional in the Singer spec)")
        return None
    report.ran(ABOUT)
    try:
        info = orjson.loads(out)
    except orjson.JSONDecodeError as exc:
        report.add(ABOUT, "about-invalid", f"--about did not print JSON ({exc}): {out[:120]!r}")
        return None
    if not isinstance(info, dict) or not isinstance(info.get("name"), str):
        report.add(ABOUT, "about-invalid", "--about must print an object with a string 'name'")
        return None
    caps = info.get("capabilities", [])
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        report.add(ABOUT, "about-invalid", "--about 'capabilities' must be an array of strings")
    settings = info.get("settings")
    if settings is not None and not isinstance(settings, dict):
        report.add(ABOUT, "about-invalid", "--about 'settings' must be a JSON Schema object")
    return info


def _discover(cmd: list[str], report: Report, timeout: float) -> dict[str, Any] | None:
    report.ran(DISCOVER)
    outcome, out = _run_json(cmd + ["--discover"], timeout)
    if outcome.timed_out:
        report.add(DISCOVER, "timeout", f"--discover did not finish in {timeout:.0f}s")
        return None
    if outcome.returncode != 0:
        report.add(
            DISCOVER,
            "discover-failed",
            f"--discover exited {outcome.returncode}: {outcome.last_error_line()}",
        )
        return None
    try:
        catalog = orjson.loads(out)
    except orjson.JSONDecodeError as exc:
        report.add(
            DISCOVER, "catalog-invalid", f"--discover did not print one JSON document ({exc})"
        )
        return None
    check_catalog(catalog, report)
    return (
        catalog if isinstance(catalog, dict) and isinstance(catalog.get("streams"), list) else None
    )


def check_catalog(catalog: Any, report: Report) -> None:
    """The catalog's shape: streams with ids, object schemas, metadata breadcrumbs that exist,
    key properties and replication keys that are properties."""
    import jsonschema

    report.ran(CATALOG)
    if not isinstance(catalog, dict) or not isinstance(catalog.get("streams"), list):
        report.add(CATALOG, "catalog-invalid", "a catalog is an object with a 'streams' array")
        return
    seen: set[str] = set()
    for i, entry in enumerate(catalog["streams"]):
        if not isinstance(entry, dict):
            report.add(CATALOG, "catalog-invalid", f"streams[{i}] is not an object")
            continue
        sid = entry.get("tap_stream_id")
        name = sid if isinstance(sid, str) else f"streams[{i}]"
        if not isinstance(sid, str) or not sid:
            report.add(
                CATALOG, "catalog-invalid", "a stream needs a string 'tap_stream_id'", stream=name
            )
        elif sid in seen:
            report.add(CATALOG, "catalog-invalid", "tap_stream_id is not unique", stream=name)
        seen.add(str(sid))
        schema = entry.get("schema")
        if not isinstance(schema, dict):
            report.add(CATALOG, "catalog-invalid", "a stream needs a 'schema' object", stream=name)
            continue
        try:
            draft_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            report.add(
                CATALOG, "schema-invalid", f"not a valid JSON Schema: {exc.message}", stream=name
            )
        if "object" not in property_types(schema):
            report.add(
                CATALOG, "schema-invalid", "a stream's schema must be of type object", stream=name
            )
        props: dict[str, Any] = (
            schema["properties"] if isinstance(schema.get("properties"), dict) else {}
        )
        _check_metadata(entry, props, name, report)


def _check_metadata(
    entry: dict[str, Any], props: dict[str, Any], name: str, report: Report
) -> None:
    items = entry.get("metadata")
    if items is None:
        report.note(
            f"stream {name!r} has no metadata: singer-sdk taps and tapwell's sync it with every "
            'property, singer-python taps only when its schema says "selected": true'
        )
        return
    if not isinstance(items, list):
        report.add(CATALOG, "metadata-invalid", "'metadata' must be an array", stream=name)
        return
    root: dict[str, Any] = {}
    for item in items:
        crumb = item.get("breadcrumb") if isinstance(item, dict) else None
        if not isinstance(crumb, list) or not isinstance(item.get("metadata"), dict):
            report.add(
                CATALOG,
                "metadata-invalid",
                f"metadata items are {{breadcrumb: [...], metadata: {{...}}}}, got {str(item)[:80]}",
                stream=name,
            )
            continue
        if not crumb:
            root = item["metadata"]
        elif len(crumb) == 2 and crumb[0] == "properties" and crumb[1] not in props:
            report.add(
                CATALOG,
                "metadata-invalid",
                f"metadata for property {crumb[1]!r}, which the schema does not have",
                stream=name,
            )
        inclusion = item["metadata"].get("inclusion")
        if inclusion is not None and inclusion not in ("available", "automatic", "unsupported"):
            report.add(
                CATALOG,
                "metadata-invalid",
                f"inclusion {inclusion!r} at {crumb} is not available/automatic/unsupported",
                stream=name,
            )
    keys = root.get("table-key-properties", entry.get("key_properties")) or []
    for key in keys:
        if key not in props:
            report.add(
                CATALOG,
                "key-not-in-schema",
                f"key property {key!r} is not a property of the schema",
                stream=name,
            )
    for key in root.get("valid-replication-keys") or []:
        if key not in props:
            report.add(
                CATALOG,
                "metadata-invalid",
                f"valid replication key {key!r} is not a property of the schema",
                stream=name,
            )
    method = root.get("forced-replication-method") or root.get("replication-method")
    if method is not None and str(method).upper() not in ("FULL_TABLE", "INCREMENTAL", "LOG_BASED"):
        report.add(
            CATALOG,
            "metadata-invalid",
            f"replication method {method!r} is not FULL_TABLE/INCREMENTAL/LOG_BASED",
            stream=name,
        )


def _root(entry: dict[str, Any]) -> dict[str, Any]:
    for item in entry.get("metadata") or []:
        if isinstance(item, dict) and item.get("breadcrumb") == []:
            return item.setdefault("metadata", {})
    root: dict[str, Any] = {}
    entry.setdefault("metadata", []).append({"breadcrumb": [], "metadata": root})
    return root


def _replication_key(entry: dict[str, Any]) -> str | None:
    root = _root(copy.deepcopy(entry))
    return root.get("replication-key") or entry.get("replication_key")


def _is_selected(entry: dict[str, Any]) -> bool:
    """Whether the tap should sync the stream, as tapwell's taps and singer-sdk decide (a stream
    without metadata is selected); the stray metadata items _check_metadata reports are left out."""
    items = entry.get("metadata")
    items = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return StreamEntry(dict(entry, metadata=items)).is_selected


def select_everything(catalog: dict[str, Any], method: str | None = None) -> dict[str, Any]:
    """Every stream selected; with `method`, replicated that way (e.g. LOG_BASED); else
    incremental on its first valid replication key when it offers one and forces nothing else."""
    out = copy.deepcopy(catalog)
    for entry in out.get("streams") or []:
        if not isinstance(entry, dict):
            continue
        root = _root(entry)
        root["selected"] = True
        if method:
            root["replication-method"] = method.upper()
            continue
        keys = root.get("valid-replication-keys") or (
            [entry["replication_key"]] if entry.get("replication_key") else []
        )
        forced = root.get("forced-replication-method")
        if (
            keys
            and (forced is None or str(forced).upper() == "INCREMENTAL")
            and not root.get("replication-method")
        ):
            root["replication-method"] = "INCREMENTAL"
            root["replication-key"] = keys[0]
    return out


def _sync(
    cmd: list[str],
    check: str,
    start_state: dict[str, Any],
    selected: set[str],
    report: Report,
    timeout: float,
    validate_limit: int,
    tmp: str,
) -> StreamValidator | None:
    if start_state:
        state_file = Path(tmp) / f"state-{check.replace(' ', '-')}.json"
        state_file.write_bytes(orjson.dumps(start_state))
        cmd = cmd + ["--state", str(state_file)]
    validator = StreamValidator(
        report, check, start_state=start_state, validate_limit=validate_limit, selected=selected
    )
    outcome = process.run(cmd, validator.feed, timeout=timeout)
    if outcome.timed_out:
        report.add(check, "timeout", f"the sync did not finish in {timeout:.0f}s")
        return None
    if outcome.returncode != 0:
        report.add(
            check, "sync-failed", f"exited {outcome.returncode}: {outcome.last_error_line()}"
        )
        return None
    validator.finish()
    for kind in sorted(validator.unknown_types):
        report.note(f"{check}: skipped a message type this checker does not know ({kind})")
    report.note(
        f"{check}: {validator.records_total} record(s) in {len(validator.streams)} stream(s), {validator.states} STATE message(s)"
    )
    return validator
