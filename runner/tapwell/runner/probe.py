"""Ask a connector something once per version: `ARGV OPTION` (`--about`, `--help`) is run the
first time, and what the caller reads from its output is kept in a JSON file under the project's
.tapwell/ and in this user's cache folder shared by every project (user_cache_dir: a new project,
or a CronJob's fresh copy of one, asks nothing a project of this machine asked before), keyed by
the command, the path, size and modification time of each of its files, the executable found on
PATH included (a reinstalled connector is asked again) and, for a Python connector (a console
script, `python -m`) run by this interpreter or installed in its own virtualenv, the modification
times and sizes of its package's module files: an editable install's script never changes while
its source does, and its answer then went stale until .tapwell/ (and now the user's cache) was
cleared. The fast lane's negotiation and state recovery read
`--about` (capabilities.json), a run reads which catalog flag an older tap takes from `--help`
(catalog_flags.json)."""

from __future__ import annotations

import ast
import contextlib
import fcntl
import glob
import hashlib
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from tapwell.runner.statestore import atomic_write

PROBE_TIMEOUT = 30  # seconds
CACHE_ENV = "TAPWELL_CACHE_DIR"  # this user's cache folder (user_cache_dir)
USER_KEPT = 64  # answers kept in a file of the user's cache folder, the newest


def user_cache_dir() -> Path:
    """The cache folder every project of this user shares: $TAPWELL_CACHE_DIR, else
    $XDG_CACHE_HOME/tapwell, else ~/.cache/tapwell. What is kept there is keyed by what it
    depends on (the connector's files, the project file's bytes), never by the project."""
    given = os.environ.get(CACHE_ENV)
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tapwell"


def cache_paths(root: Path, file: str) -> tuple[Path, Path]:
    """Cache file FILE of the project at `root` (.tapwell/FILE), and of this user."""
    return root / ".tapwell" / file, user_cache_dir() / file


def read_cache(path: Path) -> dict[str, Any]:
    """A cache file's answers; {} when it is missing or not a JSON object (asked again)."""
    cache = read_kept(path)
    return cache if isinstance(cache, dict) else {}


def read_kept(path: Path) -> Any:
    """A cache file's JSON; None when it is missing or unreadable (what it held is asked or
    checked again)."""
    try:
        return orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None


def cached_probe(
    root: Path,
    file: str,
    argv: list[str],
    option: str | list[str],
    read: Callable[[subprocess.CompletedProcess[bytes]], Any],
    valid: Callable[[Any], bool],
) -> Any:
    """What `read` makes of `ARGV OPTION`'s output, from .tapwell/FILE when a `valid` answer is
    kept there for this command and version; None, and nothing kept, when the command could not
    be run (missing, timed out): the next call asks again."""
    return cached_probes(root, file, [argv], option, read, valid)[0]


def cached_probes(
    root: Path,
    file: str,
    argvs: list[list[str]],
    option: str | list[str],
    read: Callable[[subprocess.CompletedProcess[bytes]], Any],
    valid: Callable[[Any], bool],
) -> list[Any]:
    """cached_probe of several commands, those not kept asked at the same time: each is a Python
    start-up of a connector (about 0.1 s), and the tap's and the target's `--about` before a first
    run were a fifth of a 300,000-row load. `option`: one word or several (`--about --format
    json`), part of the key."""
    options = [option] if isinstance(option, str) else list(option)
    keys = [orjson.dumps([*_stamp(argv, root), options]).decode() for argv in argvs]
    project_path, user_path = cache_paths(root, file)
    cache = read_cache(project_path)  # it wins over the user's, read only for what it lacks
    if any(k not in cache for k in keys):  # (that file holds every project's: 165 KB seen)
        cache = {**read_cache(user_path), **cache}
    answers = [cache[k] if k in cache and valid(cache[k]) else None for k in keys]
    asking = {
        i: _start([*argv, *options], root)
        for i, (argv, key) in enumerate(zip(argvs, keys, strict=True))
        if not (key in cache and valid(cache[key]))
    }
    deadline, heard = time.monotonic() + PROBE_TIMEOUT, {}
    for i, proc in asking.items():
        done = _finish(proc, deadline)
        if done is not None:
            answers[i] = heard[keys[i]] = read(done)
    if heard:
        rewrite(
            project_path,
            lambda: orjson.dumps({**read_cache(project_path), **heard}, option=_INDENT),
        )
        rewrite(user_path, lambda: _newest(read_cache(user_path), heard))
    return answers


def _newest(kept: dict[str, Any], heard: dict[str, Any]) -> bytes:
    """The user's cache file with `heard` added last, the newest USER_KEPT answers."""
    older = {k: v for k, v in kept.items() if k not in heard}
    return orjson.dumps(dict(list({**older, **heard}.items())[-USER_KEPT:]), option=_INDENT)


_INDENT = orjson.OPT_INDENT_2


def keep(path: Path, data: bytes) -> None:
    """Write a cache file under .tapwell/ whole or not at all (a reader never sees half of it),
    without fsync: a cache lost in a crash is asked again, and a first run waited 10-20 ms for
    each fsync on a busy disk. A folder that cannot be written keeps nothing."""
    with contextlib.suppress(OSError):
        atomic_write(path, data, 0o644, durable=False)


def rewrite(path: Path, content: Callable[[], bytes]) -> None:
    """keep(path, content()), with `content` reading the file again under a lock beside it
    (.NAME.lock): two runs that asked at the same time (two integrations, two projects) each
    rewrote the file from what it held before either wrote, and the first one's answers were
    lost. A folder that cannot be written keeps nothing."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.parent / f".{path.name}.lock", "ab") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
            keep(path, content())


def _stamp(argv: list[str], root: Path) -> list[Any]:
    """The cache key of a command: itself, the real path, size and modification time of each of
    its files (relative ones as the probe finds them, from the project's folder; the executable
    as PATH finds it), and a digest of the module files it runs (`_sources`; "" when they cannot
    be told)."""
    files = [f for i, a in enumerate(argv) if (f := _file_of(a, root, i == 0)) is not None]
    stamps = []
    for path in files:
        st = os.stat(path)
        stamps.append([os.path.realpath(path), st.st_size, st.st_mtime_ns])
    return [argv, stamps, _sources(argv, files)]


def _file_of(arg: str, root: Path, executable: bool) -> str | None:
    """`arg` as the file the probe (run in `root`) would open, or None when it names none: an
    executable without a folder in its name is found on PATH, as the probe finds it."""
    if executable and os.sep not in arg:
        path = shutil.which(arg)
    else:
        path = os.path.join(root, arg)  # `arg` itself when absolute
    return path if path is not None and os.path.isfile(path) else None


_IMPORT = re.compile(rb"^from ([\w.]+) import ", re.MULTILINE)


def _module_dirs(argv: list[str], files: list[str]) -> list[str]:
    """The folders (or files) of the modules a command runs: `python -m NAME`'s, and the one a
    console script (pip's or setuptools' small file) imports its `main` from. They are found with
    this interpreter's import system when the command runs with it, else in the environment of
    the script's own interpreter (a connector's own virtualenv, `_foreign_dirs`): an editable
    install there keeps its script while its source changes."""
    here = os.path.dirname(sys.executable)
    dirs: list[str] = []
    if "-m" in argv[:-1]:
        name = argv[argv.index("-m") + 1]
        dirs += _package_dirs(name)
        python = files[0] if files and os.path.basename(argv[0]).startswith("python") else ""
        if python.startswith(os.sep) and os.path.dirname(python) != here:
            dirs += _foreign_dirs(python, [name])  # another environment's `python -m NAME`
    for path in files:
        try:
            with open(path, "rb") as f:
                head = f.read(2048)
        except OSError:
            continue
        shebang = head.split(b"\n", 1)[0]
        if not shebang.startswith(b"#!"):
            continue
        interpreter = os.fsdecode(shebang[2:].strip()).split(" ")[0]
        names = [m.decode() for m in _IMPORT.findall(head)]
        if os.path.dirname(interpreter) == here:
            for name in names:
                dirs += _package_dirs(name)
        elif names and os.path.isabs(interpreter) and os.path.basename(interpreter) != "env":
            dirs += _foreign_dirs(interpreter, names)
    return dirs


_SITE_FOLDERS = ("lib", "python*", "*-packages")
_FINDER_MAPPING = re.compile(r"^MAPPING\b[^=]*=\s*(\{.*\})\s*$", re.MULTILINE)


def _foreign_dirs(interpreter: str, names: list[str]) -> list[str]:
    """The folders (or files) of the top-level packages of `names` in another interpreter's
    environment, found without starting it: in its site-packages, in the folders its .pth files
    list (an editable install by hatchling, flit, pdm, poetry, setuptools' compat mode) and in
    the MAPPING of setuptools' editable finders (`__editable___NAME_finder.py`)."""
    prefix = os.path.dirname(os.path.dirname(interpreter))
    folders: list[str] = []
    mapping: dict[str, str] = {}
    for site in sorted(glob.glob(os.path.join(glob.escape(prefix), *_SITE_FOLDERS))):
        folders.append(site)
        with contextlib.suppress(OSError):
            for entry in sorted(os.listdir(site)):
                path = os.path.join(site, entry)
                if entry.endswith(".pth"):
                    folders += _pth_folders(path, site)
                elif entry.startswith("__editable__") and entry.endswith("_finder.py"):
                    mapping.update(_finder_mapping(path))
    found = []
    for top in sorted({name.split(".")[0] for name in names}):
        if top in mapping:
            found.append(mapping[top])
        for folder in folders:
            found += [os.path.join(folder, top), os.path.join(folder, top + ".py")]
    return [p for p in found if os.path.exists(p)]


def _pth_folders(path: str, site: str) -> list[str]:
    """The folders a .pth file adds to the import path (its lines that are not `import`s)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line.strip() for line in f]
    except OSError:
        return []
    paths = [line for line in lines if line and not line.startswith(("#", "import ", "import\t"))]
    return [f for f in (os.path.join(site, p) for p in paths) if os.path.isdir(f)]


def _finder_mapping(path: str) -> dict[str, str]:
    """`MAPPING` of a setuptools editable finder: top-level name -> its source folder."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            found = _FINDER_MAPPING.search(f.read(8192))
        mapping = ast.literal_eval(found.group(1)) if found else {}
    except (OSError, ValueError, SyntaxError):
        return {}
    if not isinstance(mapping, dict):
        return {}
    return {k: v for k, v in mapping.items() if isinstance(k, str) and isinstance(v, str)}


# root -> (when, digest): a run stamps the tap and the target several times in its first
# fraction of a second (the fast lane, state recovery, the catalog flag), and both share the
# kit's folder; one walk of each folder serves them
_RECENT: dict[str, tuple[float, str]] = {}
_RECENT_SECONDS = 2.0


def _sources(argv: list[str], files: list[str]) -> str:
    """A digest of the modification times and sizes of every module file under the packages the
    command's modules belong to (each package on the dotted path, found without importing it,
    `_module_dirs`), reused for 2 s: a run asks for it several times as it starts."""
    unique = sorted(set(_module_dirs(argv, files)))
    roots = [r for r in unique if not any(r.startswith(o + os.sep) for o in unique)]
    return "".join(_root_digest(r) for r in roots)


def _root_digest(root: str) -> str:
    now = time.monotonic()
    recent = _RECENT.get(root)
    if recent is not None and now - recent[0] < _RECENT_SECONDS:
        return recent[1]
    digest = hashlib.blake2b(digest_size=6)
    _digest_files(root, digest)
    _RECENT[root] = (now, digest.hexdigest())
    return digest.hexdigest()


def _digest_files(path: str, digest: Any) -> None:
    """Feed `digest` the path, modification time and size of each .py file under `path` (a
    folder, or a module's file), in a fixed order."""
    with contextlib.suppress(OSError):
        if not os.path.isdir(path):
            st = os.stat(path)
            digest.update(f"{path} {st.st_mtime_ns} {st.st_size}\n".encode())
            return
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            if e.name.endswith(".py") and e.is_file():
                st = e.stat()
                digest.update(f"{e.path} {st.st_mtime_ns} {st.st_size}\n".encode())
            elif e.is_dir(follow_symlinks=False) and e.name != "__pycache__":
                _digest_files(e.path, digest)


def _package_dirs(name: str) -> list[str]:
    """The folders of each package on `name`'s dotted path (`a`, `a.b`, ...), found the way an
    import would find them but without running any of them (a package of an editable install may
    live apart from its parent: tapwell.targets). [] when the top one is not installed here."""
    parts = name.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])  # a top-level name imports nothing to find
    except (ImportError, ValueError):
        return []
    dirs: list[str] = []
    for i in range(1, len(parts) + 1):
        if spec is None:
            break
        dirs += list(spec.submodule_search_locations or [])
        if spec.submodule_search_locations is None and spec.origin and i == 1:
            dirs.append(spec.origin)  # a top-level module alone
        if i < len(parts):
            spec = _find_child(".".join(parts[: i + 1]), spec.submodule_search_locations)
    return [d for d in dirs if os.path.exists(d)]


def _find_child(fullname: str, path: Any) -> importlib.machinery.ModuleSpec | None:
    """The spec of submodule `fullname` in `path`, asked of the import system's finders (as
    importlib does, without importing the parent)."""
    if path is None:
        return None
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        with contextlib.suppress(ImportError, ValueError, AttributeError):
            found = find(fullname, list(path), None)
            if found is not None:
                return found
    return None


def _start(cmd: list[str], root: Path) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=root
        )
    except OSError:
        return None


def _finish(
    proc: subprocess.Popen[bytes] | None, deadline: float
) -> subprocess.CompletedProcess[bytes] | None:
    """The probe's output once it has ended; None (killed) when it outlived the deadline."""
    if proc is None:
        return None
    try:
        out, err = proc.communicate(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
