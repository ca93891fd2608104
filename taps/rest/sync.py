"""The sync: selected streams' records in page order, children under each parent page, bookmarks.

STATE is written (when it changed) after each page when the stream's records are sorted by the replication key
(`records_sorted`), and after each parent page for streams with incremental children (their
per-parent bookmarks are final once that parent's children are read); otherwise at the end of
the stream. A child stream keeps a bookmark per parent (singer-sdk's `partitions` shape: the
parent values its path uses as `context`), or one for the stream with `parent_state: false`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tapwell.sdk.progress import Progress
from tapwell.sdk.tap_schema import draft7_schema
from tapwell.singer import state as st
from tapwell.singer.catalog import Catalog, StreamEntry
from tapwell.singer.errors import ConfigError, SyncError
from tapwell.singer.wire import MessageWriter, dumps, loads

from .client import Client
from .config import RestConfig, StreamConfig
from .discovery import parent_field_names
from .sync_pages import Page, context_values, pages, placeholders
from .types import comparable, context_key, minus_lookback, misfit, start_value


@dataclass
class Tracker:
    """The greatest replication-key value seen: typed for comparing, raw for the bookmark."""

    typed: Any = None
    raw: Any = None

    def see(self, typed: Any, raw: Any, stream: str, rkey: str) -> None:
        try:
            if self.typed is None or typed > self.typed:
                self.typed, self.raw = typed, raw
        except TypeError:
            raise SyncError(
                f"stream {stream!r}, field {rkey!r}: replication key value {raw!r} cannot be "
                f"compared with {self.raw!r}; the API mixes types in this field"
            ) from None


@dataclass
class StreamRun:
    """One stream in this sync: selected (its records written) or only a parent of one that is."""

    sc: StreamConfig
    selected: bool
    schema: dict[str, Any] = field(default_factory=dict)
    rkey: str | None = None
    keep: tuple[str, ...] | None = None  # properties to write when not all are selected
    check: bool = False  # the schema was inferred: report records that do not fit
    count: int = 0
    # Properties of a declared schema whose type the catalog changes: their values are checked
    # against the catalog's type, which the SCHEMA announced (_catalog_typed).
    catalog_typed: dict[str, Any] = field(default_factory=dict)


def _run_for(sc: StreamConfig, entry: StreamEntry) -> StreamRun:
    md = entry.metadata()
    method = str(
        md.get("replication-method") or ("INCREMENTAL" if sc.replication_key else "FULL_TABLE")
    )
    rkey = (
        (entry.replication_key or sc.replication_key) if method.upper() == "INCREMENTAL" else None
    )
    props = entry.schema.get("properties") or {}
    if rkey and rkey not in props:
        raise ConfigError(f"stream {sc.name!r}: replication key {rkey!r} is not in its schema")
    selected = entry.selected_properties()
    removed = _removed(sc, entry)
    keep = None if len(selected) == len(props) and not removed else tuple(selected)
    typed = _catalog_typed(sc, props)
    return StreamRun(sc, True, entry.schema, rkey, keep, sc.schema is None, catalog_typed=typed)


def _removed(sc: StreamConfig, entry: StreamEntry) -> set[str]:
    """The stream's own properties (its declared schema's, and those discovery gave metadata)
    that the catalog's schema leaves out: a record's values of them are not sent."""
    own = set((sc.schema or {}).get("properties") or {})
    own |= {
        str(crumb[1])
        for item in entry.raw.get("metadata") or []
        if isinstance(item, dict) and len(crumb := item.get("breadcrumb") or []) == 2
    }
    return own - set(entry.schema.get("properties") or {})


def _catalog_typed(sc: StreamConfig, props: dict[str, Any]) -> dict[str, Any]:
    """The catalog's properties whose type differs from the stream's declared schema (none for an
    inferred one, whose records are all checked against the catalog's schema)."""
    if sc.schema is None:
        return {}
    own = draft7_schema(sc.schema).get("properties") or {}
    return {k: p for k, p in props.items() if k in own and loads(dumps(p)) != loads(dumps(own[k]))}


class Sync:
    def __init__(
        self,
        cfg: RestConfig,
        client: Client,
        catalog: Catalog,
        state: dict[str, Any],
        writer: MessageWriter,
        log: logging.Logger,
        progress: Progress,
    ) -> None:
        self.cfg, self.client, self.writer, self.log = cfg, client, writer, log
        self.state = state
        self.progress = progress
        self.runs: dict[str, StreamRun] = {}
        for entry in catalog.selected():
            sc = _stream(cfg, entry.tap_stream_id)
            self.runs[sc.name] = _run_for(sc, entry)
        for name in list(self.runs):  # the parents of selected streams are read too
            up = cfg.stream(name).parent
            while up is not None and up not in self.runs:
                self.runs[up] = StreamRun(cfg.stream(up), selected=False)
                up = cfg.stream(up).parent
        self.partitions: dict[str, dict[str, dict[str, Any]]] = {}
        self.shared_start: dict[str, Any] = {}
        self.shared: dict[str, Tracker] = {}
        self.said: bytes | None = None  # the last STATE written, as its JSON

    def run(self) -> dict[str, Any]:
        for run in self.runs.values():
            if run.selected:
                schema = draft7_schema(_projected(run.schema, run.keep))
                self.writer.write_schema(
                    run.sc.name, schema, list(run.sc.primary_key), [run.rkey] if run.rkey else None
                )
            if run.sc.parent is not None and run.rkey:
                self._load_child_bookmarks(run)
        for sc in self.cfg.streams:
            if sc.parent is None and sc.name in self.runs:
                self._top(self.runs[sc.name])
        self.state = st.set_currently_syncing(self.state, None)
        if not self.state and self.said is not None:
            # `{}` after a non-empty state is never committed (it would drop every bookmark):
            # the marker is cleared by a state that says so
            self.state = {"bookmarks": {}}
        self._write_state()
        return self.state

    def _write_state(self) -> None:
        """A STATE line, unless the state is the one last written (an empty page, or a page
        that moved no bookmark, says nothing new; singer-sdk writes it only when changed too)."""
        now = dumps(self.state)
        if now != self.said:
            self.writer.write_state(self.state)
            self.said = now

    # ------------------------------------------------------------------ top-level streams

    def _top(self, run: StreamRun) -> None:
        sc = run.sc
        self.state = st.set_currently_syncing(self.state, sc.name)
        start = self._start(self.state, sc, run.rkey) if run.selected else _start_value(sc)
        since = minus_lookback(start, sc.lookback_seconds)
        tracker = Tracker(
            comparable(start) if start is not None else None, _raw_start(self.state, sc, run)
        )
        checkpoint = bool(run.rkey and sc.records_sorted and run.selected)
        with_children = any(r.rkey for r in self._child_runs(sc.name))
        values = context_values(sc, None, since)
        for page in pages(self.client, sc, values, self.log, prefetch=True):
            kept = self._emit(run, page, since, tracker)
            self._children(sc, kept)
            if checkpoint:
                self._save(run, tracker)
            if checkpoint or with_children:
                self._save_children(sc.name)
                self._write_state()
        self._save(run, tracker)
        self._save_children(sc.name)
        for r in [run, *self._descendants(sc.name)]:
            if r.selected:
                self.progress.done(r.sc.name)
        self._write_state()

    def _start(self, state: dict[str, Any], sc: StreamConfig, rkey: str | None) -> Any:
        if not rkey:
            return None
        book = st.get_bookmark(state, sc.name, "replication_key_value")
        if book is not None and st.get_bookmark(state, sc.name, "replication_key") in (None, rkey):
            return comparable(book)
        return _start_value(sc)

    def _save(self, run: StreamRun, tracker: Tracker) -> None:
        if run.selected and run.rkey and tracker.raw is not None:
            self.state = st.set_bookmark(self.state, run.sc.name, "replication_key", run.rkey)
            self.state = st.set_bookmark(
                self.state, run.sc.name, "replication_key_value", tracker.raw
            )

    # ------------------------------------------------------------------ records

    def _emit(
        self,
        run: StreamRun,
        page: Page,
        since: Any,
        tracker: Tracker,
        extra: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Write the page's records that are new (and selected); return them for the children."""
        sc, rkey, kept = run.sc, run.rkey, []
        filtering = sc.client_filter and since is not None
        write, name = self.writer.write_record, sc.name
        for n, record in enumerate(page.records, 1):
            if extra:
                record = {**record, **extra}
            if rkey is not None:
                raw = record.get(rkey)
                if raw is not None:
                    typed = comparable(raw)
                    try:
                        if filtering and typed < since:
                            continue
                    except TypeError:
                        raise SyncError(
                            f"stream {name!r}, field {rkey!r}: {raw!r} cannot be compared with the "
                            f"start {since!r}; check replication_key and start_value"
                        ) from None
                    tracker.see(typed, raw, name, rkey)
            if run.check and run.selected:
                self._check(run, record if run.keep is None else _kept(record, run.keep), page, n)
            elif run.catalog_typed and run.selected:
                self._check_catalog_typed(run, record, page, n)
            if run.selected:
                write(
                    name,
                    record if run.keep is None else _kept(record, run.keep),
                )
            kept.append(record)
        if run.selected:
            run.count += len(kept)
            self.progress.add(name, len(kept))
        return kept

    def _check(self, run: StreamRun, record: dict[str, Any], page: Page, n: int) -> None:
        bad = misfit(record, run.schema, "")
        if bad:
            raise SyncError(
                f"stream {run.sc.name!r}, page {page.number} ({page.url}), record {n}: {bad}; "
                "the schema was inferred from the first records: declare it in the stream's "
                f"`schema` (widen that property), starting from: {dumps(run.schema).decode()}"
            )

    def _check_catalog_typed(
        self, run: StreamRun, record: dict[str, Any], page: Page, n: int
    ) -> None:
        for name, prop in run.catalog_typed.items():
            bad = misfit(record.get(name), prop, name) if name in record else None
            if bad:
                raise SyncError(
                    f"stream {run.sc.name!r}, page {page.number} ({page.url}), record {n}: {bad}, "
                    "as the catalog's schema types it: change the property's type in the catalog "
                    f"(the stream's own: {dumps((run.sc.schema or {})['properties'][name]).decode()})"
                )

    # ------------------------------------------------------------------ child streams

    def _child_runs(self, parent: str) -> list[StreamRun]:
        return [self.runs[c.name] for c in self.cfg.children(parent) if c.name in self.runs]

    def _descendants(self, parent: str) -> Iterator[StreamRun]:
        for run in self._child_runs(parent):
            yield run
            yield from self._descendants(run.sc.name)

    def _children(self, parent: StreamConfig, records: list[dict[str, Any]]) -> None:
        for run in self._child_runs(parent.name):
            jobs = [self._child_job(run, record) for record in records]
            if run.sc.child_concurrency > 1 and len(jobs) > 1:
                with ThreadPoolExecutor(run.sc.child_concurrency) as pool:
                    fetch = functools.partial(self._all_pages, run.sc)
                    fetched: Iterable[list[Page]] = pool.map(fetch, [job[1] for job in jobs])
                    for job, got in zip(jobs, fetched):
                        self._child_pages(run, job, got)
            else:
                for job in jobs:
                    self._child_pages(
                        run, job, pages(self.client, run.sc, job[1], self.log, quiet=True)
                    )

    def _all_pages(self, sc: StreamConfig, values: dict[str, Any]) -> list[Page]:
        """Every page of one parent's child requests (run in a worker thread)."""
        return list(pages(self.client, sc, values, self.log, quiet=True))

    def _child_job(self, run: StreamRun, parent: dict[str, Any]) -> tuple[Any, ...]:
        """(context, placeholder values, since, parent-field values, start) of one parent's requests."""
        sc = run.sc
        used = placeholders(sc.path) | placeholders(sc.params) | placeholders(sc.body)
        used.discard("start")
        context = {k: parent.get(k) for k in sorted(used)}
        start = self._child_start(run, context)
        since = minus_lookback(start, sc.lookback_seconds)
        extra = {k: parent.get(f) for k, f in parent_field_names(sc).items()}
        return context, context_values(sc, parent, since), since, extra, start

    def _child_pages(self, run: StreamRun, job: tuple[Any, ...], got: Iterable[Page]) -> None:
        context, _values, since, extra, start = job
        sc = run.sc
        if sc.parent_state:
            tracker = Tracker(comparable(start) if start is not None else None)
        else:
            tracker = self.shared.setdefault(sc.name, Tracker())
        for page in got:
            kept = self._emit(run, page, since, tracker, extra)
            self._children(sc, kept)
        if run.rkey and tracker.raw is not None and sc.parent_state:
            key = context_key(context)
            self.partitions.setdefault(sc.name, {})[key] = {
                "context": context,
                "replication_key": run.rkey,
                "replication_key_value": tracker.raw,
            }

    def _load_child_bookmarks(self, run: StreamRun) -> None:
        sc = run.sc
        book = (self.state.get("bookmarks") or {}).get(sc.name) or {}
        if sc.parent_state:
            parts = book.get("partitions") or []
            self.partitions[sc.name] = {
                context_key(p.get("context")): p
                for p in parts
                if isinstance(p, dict) and p.get("replication_key") in (None, run.rkey)
            }
        else:
            self.shared_start[sc.name] = self._start(self.state, sc, run.rkey)

    def _child_start(self, run: StreamRun, context: dict[str, Any]) -> Any:
        if not run.rkey:
            return None
        if not run.sc.parent_state:
            return self.shared_start.get(run.sc.name)
        part = self.partitions.get(run.sc.name, {}).get(context_key(context))
        if part and part.get("replication_key_value") is not None:
            return comparable(part["replication_key_value"])
        return _start_value(run.sc)

    def _save_children(self, parent: str) -> None:
        for run in self._descendants(parent):
            if not (run.selected and run.rkey):
                continue
            if run.sc.parent_state:
                parts = list(self.partitions.get(run.sc.name, {}).values())
                self.state = st.set_bookmark(self.state, run.sc.name, "partitions", parts)
            else:
                self._save(run, self.shared.get(run.sc.name) or Tracker())


def _stream(cfg: RestConfig, name: str) -> StreamConfig:
    try:
        return cfg.stream(name)
    except ConfigError:
        raise ConfigError(
            f"the catalog selects stream {name!r}, which the config does not have"
        ) from None


def _start_value(sc: StreamConfig) -> Any:
    return start_value(sc.start_value)


def _raw_start(state: dict[str, Any], sc: StreamConfig, run: StreamRun) -> Any:
    """The bookmark as stored, when the run starts from it (the same replication key)."""
    if not run.rkey or st.get_bookmark(state, sc.name, "replication_key") not in (None, run.rkey):
        return None
    return st.get_bookmark(state, sc.name, "replication_key_value")


def _kept(record: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    return {k: record[k] for k in keep if k in record}


def _projected(schema: dict[str, Any], keep: tuple[str, ...] | None) -> dict[str, Any]:
    if keep is None:
        return schema
    props = schema.get("properties") or {}
    return dict(schema, properties={k: props[k] for k in keep if k in props})
