"""Where the runner keeps bookmark state, the state's history and the run history.

Two backends with one surface (`StateBackend`): files under state/ (the default, embedded) and
PostgreSQL (statestore_pg, for several machines and Kubernetes). The file backend writes
atomically: a temporary file in the same folder, fsynced, then renamed over the old one, so a
crash leaves the old state or the new one, never half of either.

An empty or malformed state never replaces a good one unless the caller forces it: a target
that prints `{}` after a crash must not erase a week of bookmarks.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import orjson

from tapwell.runner.history import (
    FINISHED,
    LATEST_KEPT,
    RunRecord,
    Totals,
    add_totals,
    is_run_id,
    totals_delta,
    utcnow,
)
from tapwell.runner.lock import FileLock
from tapwell.runner.statestore_rules import check_state, state_problem
from tapwell.singer.errors import ConfigError
from tapwell.singer.wire import dumps, loads

PRUNE_EVERY_SECONDS = 3600  # a file history is pruned at most this often (state.keep_runs_days)


def atomic_write(
    path: Path, data: bytes, mode: int = 0o600, durable: bool = True, sync_folder: bool = True
) -> None:
    """Write `path` whole or not at all (a reader never sees half of it), by rename; `durable`:
    also fsync the file and its folder, so it survives a crash (caches go without).
    `sync_folder=False`: the caller fsyncs the folder itself (sync_folder), once for several."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable and sync_folder:
        fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make the renames done in `folder` survive a crash."""
    dirfd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


class StateBackend(Protocol):
    def get(self, integration: str) -> dict[str, Any] | None: ...
    def put(
        self,
        integration: str,
        state: dict[str, Any],
        *,
        run_id: str | None = None,
        record: bool = False,
        force: bool = False,
    ) -> None: ...
    def clear(self, integration: str, *, run_id: str | None = None) -> None: ...
    def where(self, integration: str) -> str: ...
    def state_history(
        self, integration: str, limit: int = 20
    ) -> list[tuple[dt.datetime, str | None, dict[str, Any] | None]]: ...
    def lock(self, integration: str) -> AbstractContextManager[Any]: ...
    def save_run(self, run: RunRecord) -> RunRecord: ...
    def runs(
        self,
        integration: str | None = None,
        limit: int = 20,
        *,
        status: str | None = None,
        before: str | None = None,
        brief: bool = False,
    ) -> list[RunRecord]: ...
    def run(self, run_id: str) -> RunRecord | None: ...
    def totals(self) -> Totals: ...
    def latest(self, names: list[str], per: int = 1) -> dict[str, list[RunRecord]]: ...
    def append_log(self, run_id: str, lines: list[str]) -> None: ...
    def read_log(self, run_id: str, start: int = 0) -> list[str]: ...
    def claim(self, integration: str, due: dt.datetime) -> bool: ...
    def prune_runs(self, before: dt.datetime) -> int: ...
    def close(self) -> None: ...


class FileStateStore:
    """state/NAME.json (current), state/.history/NAME.jsonl (versions), state/.runs/ID.json."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # brief run records by file name, with the file's (mtime_ns, size) when read: a
        # long-lived reader (tapwell serve) lists 1,000 runs with stat calls, not 1,000 parses
        self._brief: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}

    def path(self, integration: str) -> Path:
        return self.folder / f"{integration}.json"

    def where(self, integration: str) -> str:
        """Where a person finds the state of `integration`: its file, from the working folder
        when it is under it."""
        path = self.path(integration)
        try:
            return str(path.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def run_file(self, run_id: str, suffix: str) -> Path:
        """state/.runs/ID.json (the record) or ID.log (the live log); a run id from a URL or a
        command line cannot reach outside the folder."""
        return self.folder / ".runs" / f"{os.path.basename(run_id)}{suffix}"

    def get(self, integration: str) -> dict[str, Any] | None:
        """The saved state; None when there is none; ConfigError naming the file and the fix
        when it is broken (a broken file is never silently replaced or ignored)."""
        p = self.path(integration)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(
                f"state file {p} cannot be read ({exc.strerror or exc}): fix the file's "
                "permissions, or remove it and run `tapwell state set` (or `state recover`)"
            ) from None
        value: Any = None
        if not raw.strip(b" \t\r\n"):
            problem: str | None = "it is empty"
        else:
            try:
                value = loads(raw)
                problem = state_problem(value)
            except (ValueError, RecursionError) as exc:
                problem = f"it is not valid JSON ({' '.join(str(exc).split())[:120]})"
        if problem:
            raise ConfigError(
                f"state file {p} is broken: {problem}; replace it with "
                f"`tapwell state set {integration} FILE --force` "
                f"(or `tapwell state clear {integration} --force` to sync everything again)"
            )
        return value

    def put(
        self,
        integration: str,
        state: dict[str, Any],
        *,
        run_id: str | None = None,
        record: bool = False,
        force: bool = False,
    ) -> None:
        """Save state; with record=True also append it to the state history (done once per run
        attempt and on every manual change, not for every checkpoint)."""
        if not force:
            check_state(state, self._current_or_none(integration))
        data = dumps(state, orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        if self._bytes_or_none(integration) != data:
            # the run's end records the state its last checkpoint saved: the file holds it already
            atomic_write(self.path(integration), data)
        if record:
            self._record(integration, state, run_id)

    def _bytes_or_none(self, integration: str) -> bytes | None:
        try:
            return self.path(integration).read_bytes()
        except OSError:
            return None

    def _current_or_none(self, integration: str) -> dict[str, Any] | None:
        try:
            return self.get(integration)
        except ConfigError:
            return None  # a broken file is not a good state worth protecting

    def clear(self, integration: str, *, run_id: str | None = None) -> None:
        self.path(integration).unlink(missing_ok=True)
        self._record(integration, None, run_id)

    def _record(self, integration: str, state: dict[str, Any] | None, run_id: str | None) -> None:
        path = self.folder / ".history" / f"{integration}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        line = dumps({"saved_at": utcnow().isoformat(), "run_id": run_id, "state": state}) + b"\n"
        with open(path, "ab") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def state_history(
        self, integration: str, limit: int = 20
    ) -> list[tuple[dt.datetime, str | None, dict[str, Any] | None]]:
        path = self.folder / ".history" / f"{integration}.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_bytes().splitlines()[-limit:]:
            try:
                item = loads(line)
            except ValueError:
                continue  # a torn last line from a crash
            out.append(
                (dt.datetime.fromisoformat(item["saved_at"]), item.get("run_id"), item.get("state"))
            )
        return out[::-1]

    def lock(self, integration: str) -> FileLock:
        return FileLock(self.folder / f"{integration}.lock", integration)

    def save_run(self, run: RunRecord) -> RunRecord:
        """Write the record; under the index lock, so that its integration's newest ids and the
        run totals (history.totals_delta) follow: a run is added to the totals once, when its
        record first reaches a finished outcome."""
        path = self.run_file(run.id, ".json")
        with self._index_lock():
            old = self._outcome_of(path)
            # the record and the index are in one folder: one fsync of it makes both renames
            # durable (it was two, each run's first and last save writing both)
            atomic_write(path, orjson.dumps(run.to_json()), sync_folder=False)
            self._update_index(run, old)
            fsync_folder(path.parent)
        return run

    def _update_index(self, run: RunRecord, old: str | None) -> None:
        """Add `run` to the index's newest ids and, once finished, to its totals; the folder is
        left to save_run to fsync."""
        index = self._read_index()
        if index is None:
            self._write_index(self._rebuild_index(), sync_folder=False)  # counts this run too
            return
        changed = False
        ids: list[str] = index["latest"].setdefault(run.integration, [])
        if old is None and run.id not in ids:
            ids.append(run.id)
            ids.sort(reverse=True)
            del ids[LATEST_KEPT:]
            changed = True
        if run.outcome in FINISHED and old not in FINISHED:
            add_totals(index["totals"], run.integration, totals_delta(run))
            changed = True
        if changed:
            self._write_index(index, sync_folder=False)

    # state/.runs/.index.json: {"totals": history.Totals, "latest": {integration: [newest run
    # ids, at most LATEST_KEPT]}}, so /metrics and the lists never read the whole history. Built
    # once from every record when absent (a history from before it, or a file removed).

    def _index_path(self) -> Path:
        return self.folder / ".runs" / ".index.json"

    @contextmanager
    def _index_lock(self) -> Iterator[None]:
        path = self.folder / ".runs" / ".index.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    @staticmethod
    def _outcome_of(path: Path) -> str | None:
        """The outcome in the record at `path`; None when there is none ("" when unreadable)."""
        try:
            return str(orjson.loads(path.read_bytes()).get("outcome") or "")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            return ""

    def _read_index(self) -> dict[str, Any] | None:
        try:
            index = orjson.loads(self._index_path().read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(index, dict) or not {"totals", "latest"} <= set(index):
            return None
        return index

    def _write_index(self, index: dict[str, Any], sync_folder: bool = True) -> None:
        atomic_write(self._index_path(), orjson.dumps(index), sync_folder=sync_folder)

    def _rebuild_index(self) -> dict[str, Any]:
        totals: Totals = {}
        latest: dict[str, list[str]] = {}
        folder = self.folder / ".runs"
        names = [n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith(".")]
        for name in sorted(names, reverse=True):
            try:  # not through _brief_json: a runner rebuilding keeps no cache of every run
                run = RunRecord.from_json(orjson.loads((folder / name).read_bytes()))
            except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            ids = latest.setdefault(run.integration, [])
            if len(ids) < LATEST_KEPT:
                ids.append(run.id)
            if run.outcome in FINISHED:
                add_totals(totals, run.integration, totals_delta(run))
        return {"totals": totals, "latest": latest}

    def _index(self) -> dict[str, Any]:
        index = self._read_index()
        if index is None:
            with self._index_lock():
                index = self._read_index()
                if index is None:
                    index = self._rebuild_index() if (self.folder / ".runs").exists() else None
                    if index is None:
                        return {"totals": {}, "latest": {}}
                    self._write_index(index)
        return index

    def totals(self) -> Totals:
        """Every integration's run totals (history.totals_delta), kept as runs end."""
        totals: Totals = self._index()["totals"]
        return totals

    def latest(self, names: list[str], per: int = 1) -> dict[str, list[RunRecord]]:
        """The newest `per` runs (at most LATEST_KEPT) of each of `names`, newest first, brief
        (see runs): read through the index, not by listing the history."""
        index = self._index()
        folder = self.folder / ".runs"
        out: dict[str, list[RunRecord]] = {}
        for name in names:
            found = []
            for run_id in index["latest"].get(name, [])[:per]:
                try:
                    found.append(RunRecord.from_json(self._brief_json(folder / f"{run_id}.json")))
                except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    continue
            if found:
                out[name] = found
        return out

    def runs(
        self,
        integration: str | None = None,
        limit: int = 20,
        *,
        status: str | None = None,
        before: str | None = None,
        brief: bool = False,
    ) -> list[RunRecord]:
        """Newest first; `before` a run id: only runs that started before it (the next page).
        `brief`: for listings, without the log and the stage samples (never to be saved back)."""
        folder = self.folder / ".runs"
        if not folder.exists():
            return []
        out: list[RunRecord] = []
        # names, not Paths: sorting 10,000 Paths cost 0.6 s of a /metrics scrape (Path.__lt__)
        names = [n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith(".")]
        for name in sorted(names, reverse=True):
            if before is not None and name[:-5] >= before:
                continue  # run ids sort by start time (tapwell.runner.history.new_run_id)
            path = folder / name
            try:
                data = self._brief_json(path) if brief else orjson.loads(path.read_bytes())
                run = RunRecord.from_json(data)
            except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            if (integration is None or run.integration == integration) and (
                status is None or run.outcome == status
            ):
                out.append(run)
                if len(out) >= limit:
                    break
        return out

    def _brief_json(self, path: Path) -> dict[str, Any]:
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
        cached = self._brief.get(path.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        data = orjson.loads(path.read_bytes())
        data["log"] = ""
        stages = data.get("stages") or {}
        data["stages"] = {"summary": stages["summary"]} if "summary" in stages else {}
        self._brief[path.name] = (key, data)
        return data

    def append_log(self, run_id: str, lines: list[str]) -> None:
        """Append timestamped lines to the run's live log, state/.runs/ID.log (followed by
        `tapwell logs --follow` and serve's log stream while the run goes on)."""
        path = self.run_file(run_id, ".log")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab") as f:
            f.write("".join(f"{line}\n" for line in lines).encode("utf-8", "replace"))

    def read_log(self, run_id: str, start: int = 0) -> list[str]:
        """The live log's lines from line `start` on (a torn last line is left for later)."""
        path = self.run_file(run_id, ".log")
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return []
        whole = data[: data.rfind(b"\n") + 1].decode("utf-8", "replace").splitlines()
        return whole[start:]

    def claim(self, integration: str, due: dt.datetime) -> bool:
        """True for the first caller only, for one scheduled time of one integration (several
        `tapwell serve` processes on one folder start each scheduled run once)."""
        path = self.folder / ".claims" / integration / f"{due:%Y%m%dT%H%M%S}"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        for old in sorted(path.parent.iterdir())[:-20]:
            old.unlink(missing_ok=True)  # keep the folder small
        return True

    def prune_runs(self, before: dt.datetime) -> int:
        """Remove the records and logs of finished runs started before `before`, except each
        integration's newest LATEST_KEPT (the index's); how many. The run totals stay (they are
        counters). Read at most once an hour: the marker `.runs/.pruned` holds the last time."""
        folder = self.folder / ".runs"
        marker = folder / ".pruned"
        try:
            if time.time() - marker.stat().st_mtime < PRUNE_EVERY_SECONDS:
                return 0
        except FileNotFoundError:
            if not folder.exists():
                return 0
        cutoff = f"{before:%Y%m%dT%H%M%S%f}"
        removed = 0
        with self._index_lock():
            index = self._read_index()  # (not _index(): it takes this lock too)
            if index is None:  # written before any run goes, so the totals keep them
                index = self._rebuild_index()
                self._write_index(index)
            kept = {i for ids in index["latest"].values() for i in ids}
            for name in sorted(os.listdir(folder)):
                run_id, suffix = os.path.splitext(name)
                if suffix != ".json" or not is_run_id(run_id):
                    continue
                started = run_id.split("-", 1)[0]  # its start, to the second or microsecond
                if started >= cutoff[: len(started)]:
                    continue
                if run_id in kept or self._outcome_of(folder / name) not in FINISHED:
                    continue
                (folder / f"{run_id}.log").unlink(missing_ok=True)
                (folder / name).unlink(missing_ok=True)
                self._brief.pop(name, None)
                removed += 1
            marker.touch()
        return removed

    def run(self, run_id: str) -> RunRecord | None:
        path = self.run_file(run_id, ".json")
        if not path.exists():
            return None
        try:
            return RunRecord.from_json(orjson.loads(path.read_bytes()))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"run record {path} is broken ({exc}); remove it") from None

    def close(self) -> None:
        pass


def open_backend(project: Any, integration: str | None = None) -> StateBackend:
    """The backend named by tapwell.yml's `state:` (the integration's own, if it has one)."""
    config = project.state_config_for(integration) if integration else project.state_config
    # TAPWELL_STATE_BACKEND / TAPWELL_STATE_DSN let a deployment (a Kubernetes pod) use
    # PostgreSQL without a different tapwell.yml.
    backend = os.environ.get("TAPWELL_STATE_BACKEND") or config.get("backend") or "file"
    if backend == "postgres":
        from tapwell.runner.statestore_pg import PostgresStateStore

        dsn = os.environ.get("TAPWELL_STATE_DSN") or config.get("dsn")
        if not dsn:
            raise ConfigError(
                "state.dsn is missing for the postgres backend (e.g. dsn: ${TAPWELL_STATE_DSN})"
            )
        return PostgresStateStore(dsn, str(config.get("schema") or "tapwell"))
    return FileStateStore(project.state_dir)
