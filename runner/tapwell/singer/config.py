"""Config files: load and merge (Singer taps take `--config` more than once), and keep secrets out
of every message, log line and run record."""

from __future__ import annotations

import errno
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote

import orjson

from tapwell.singer.errors import ConfigError

SECRET_KEY = re.compile(
    r"pass(word|wd)?|pwd?(?![a-z])|secret|token|api[_-]?key|hash[_-]?(key|seed)|salt|private[_-]?key|credential|auth|ssl[_-]?key|dsn",
    re.IGNORECASE,
)

# An environment variable whose value is a secret wherever tapwell.yml places it (`key: ${PG_PASSWORD}`,
# `postgresql://u:${PG_PASSWORD}@h/db`): a name SECRET_KEY matches, or one with KEY as a word of it
# (S3_KEY, ENCRYPTION_KEY), which as a config key names too many things that are not secret.
SECRET_ENV_NAME = re.compile(rf"{SECRET_KEY.pattern}|(?:^|_)[a-z]*key(?:_|$)", re.IGNORECASE)

# Values that are settings, not secrets, even under a secret-looking name (`auth: none`,
# `${USE_TOKEN:-true}`): masked, they would turn every such word of a log into ***.
_NOT_SECRETS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none"})

# Inside a secret-named object (`auth: {type: bearer, token: ...}`), the keys that say what kind of
# credential it is and where it goes, never the secret itself: their values ("bearer", "query",
# "key", "none") would otherwise be masked wherever the words appear in a log line.
DESCRIPTIVE_KEYS = frozenset(
    {"type", "in", "name", "location", "token_url", "scopes", "grant_type"}
)


def load_config(paths: Iterable[str | Path]) -> dict[str, Any]:
    """Merge JSON config files left to right; a later file's keys win. A file that is missing,
    a folder, unreadable, empty, not JSON or not a JSON object is one ConfigError line (exit 2)."""
    merged: dict[str, Any] = {}
    for path in paths:
        p = Path(path)
        try:
            text = p.read_bytes()
        except FileNotFoundError:
            raise ConfigError(f"config file {p} does not exist") from None
        except OSError as exc:
            raise cannot_read("config file", p, exc) from None
        if not text.strip():
            raise ConfigError(
                f"config file {p} is empty: write a JSON object in it ({{}} at least)"
            )
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"config file {p} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"config file {p} must hold a JSON object ({{...}}), not a {_json_kind(data)}"
            )
        merged.update(data)
    return merged


def _json_kind(value: Any) -> str:
    kinds = {list: "list", str: "string", bool: "boolean", type(None): "null"}
    return kinds.get(type(value), "number")


def cannot_read(what: str, path: str | Path, exc: OSError) -> ConfigError:
    """A file the user named that exists but cannot be read, as one line with the fix (exit 2):
    `what` says which file it is ("config file", "env_file")."""
    if exc.errno == errno.ENOENT:
        return ConfigError(f"{what} {path} does not exist: check the path")
    if exc.errno == errno.EISDIR:
        return ConfigError(f"{what} {path} is a folder, not a file: give the path of the file")
    if exc.errno == errno.EACCES:
        return ConfigError(
            f"{what} {path} cannot be read (permission denied): make it readable by this user "
            f"(chmod u+r {path}, or run as its owner)"
        )
    return ConfigError(f"{what} {path} cannot be read ({exc.strerror or exc}): check the path")


def secret_values(config: dict[str, Any], also: Iterable[str] = ()) -> list[str]:
    """Every value never to print, longest first: values under a key that looks secret, at any
    depth, the password inside any URL or key=value DSN among the values (with its
    percent-decoded form and the pieces a driver may quote when it cannot parse it), and `also`
    (the values of secret-named `${VAR}`s, wherever they were placed); each with the forms a
    connector may print it in (printed_forms)."""
    found: list[str] = list(also)

    def walk(node: Any, secret: bool) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if secret and str(k).lower() in DESCRIPTIVE_KEYS:
                    walk(v, False)
                else:
                    walk(v, secret or bool(SECRET_KEY.search(str(k))))
        elif isinstance(node, list):
            for v in node:
                walk(v, secret)
        elif isinstance(node, (str, int)) and str(node):
            if secret:
                found.append(str(node))
            if isinstance(node, str):
                found.extend(credential_fragments(node))

    walk(config, False)
    forms = {
        f for value in found if value.lower() not in _NOT_SECRETS for f in printed_forms(value)
    }
    return sorted(forms, key=len, reverse=True)


def printed_forms(secret: str) -> set[str]:
    """A secret as written, URL-encoded (as a connector quotes it into a URL it prints) and
    escaped inside a JSON string, with and without \\uXXXX escapes (as a connector that dumps
    its config prints it)."""
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        orjson.dumps(secret).decode()[1:-1],
        json.dumps(secret)[1:-1],
    }


# scheme://user:PASSWORD@host... ; the password may hold unencoded '/', '%', ':' or '@' (users
# paste them so), so it runs to the last '@' before the next blank or quote; one that holds a blank
# or a quote runs to the last '@' of the line before another scheme:// (more masked, never less).
# Every repeat that a failed match retries from each position is bounded (a scheme's 32
# characters, the blanks before the next one), so a long run of letters costs linear time: unbounded,
# 100 KB of letters took 16 s to mask, and every connector's stderr line is masked.
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://"
_URL_PASSWORD = re.compile(
    rf"(?P<head>{_SCHEME}[^\s:/@'\"]*:)(?P<pw>[^\s'\"]*(?=@)|(?:(?!\s{{0,16}}{_SCHEME})[^\n])*(?=@))"
)
# password=VALUE or password='VALUE with spaces' in a libpq key=value DSN or an error text, and
# password=VALUE WITH SPACES unquoted when another key= follows (`password=a b user=x`).
_DSN_KEY = r"\s+[A-Za-z_][A-Za-z0-9_]*\s*="
_DSN_PASSWORD = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd)\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'"
    rf"|[^\s'\"]\S*(?:(?!{_DSN_KEY})\s+\S+)+(?={_DSN_KEY})|[^\s'\"]\S*)",
    re.IGNORECASE,
)


# ?access_token=VALUE, &api_key=VALUE, &X-Amz-Signature=VALUE: a credential in a URL's query (up to
# the next parameter, blank, quote or closing bracket of the text around the URL).
_QUERY_SECRET = re.compile(
    r"(?P<head>[?&][A-Za-z0-9_.\-]{0,64}?(?:token|secret|passw(?:or)?d|pwd|api[_-]?key|apikey|signature)"
    r"[A-Za-z0-9_.\-]{0,64}=)(?P<pw>[^&\s#'\")\]>]+)",
    re.IGNORECASE,
)

_LIBPQ_SPLIT = re.compile(r"[/@:?#]")


def url_password(text: str) -> str | None:
    """The password of a URL or key=value DSN in `text`, as written (None when it has none)."""
    m = _URL_PASSWORD.search(text) or _DSN_PASSWORD.search(text)
    if not m:
        return None
    pw = m.group("pw")
    if pw.startswith("'") and pw.endswith("'") and len(pw) >= 2:
        pw = pw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    return pw or None


def credential_fragments(text: str) -> list[str]:
    """What of a URL/DSN password in `text` could appear in a driver's error text: the password as
    written, percent-decoded, and the pieces libpq names when it cannot parse an unencoded one;
    and a URL query's credentials (`?access_token=...`), as written and decoded.

    libpq splits such a password at `/`, `@`, `:`, `?` or `#` and quotes what it choked on, `%`
    included (`invalid percent-encoded token: "Sup%er"`, `invalid integer value "Sup" for
    connection option "port"`), so the runs between those characters and the prefixes up to each
    of them are secrets too (3 characters or more, the shortest redact() masks)."""
    found = {v for m in _QUERY_SECRET.finditer(text) for v in (m["pw"], unquote(m["pw"]))}
    pw = url_password(text)
    if not pw:
        return [f for f in found if f]
    found |= {pw, unquote(pw)}
    found.update(p for p in _LIBPQ_SPLIT.split(pw) if len(p) >= 3)
    found.update(pw[: m.start()] for m in _LIBPQ_SPLIT.finditer(pw) if m.start() >= 3)
    found.update(p for p in re.split(r"[/@:?#%]", pw) if len(p) >= 4)  # other drivers' quoting
    return [f for f in found if f]


def mask_credentials(text: str) -> str:
    """Mask the password of every URL (`scheme://user:***@host`), key=value DSN (`password=***`)
    and URL query (`?access_token=***`) found in text, whatever the configured values were."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***", text)
    text = _QUERY_SECRET.sub(lambda m: m.group("head") + "***", text)
    return _DSN_PASSWORD.sub(lambda m: m.group("head") + "***", text)


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of a secret with ***, and mask any URL or DSN password.

    A secret of 4 characters or more is masked wherever it appears, inside a longer line or word
    too. One of 3 characters is masked only where it stands alone (not inside a longer run of
    letters and digits: `abc` masks `key=abc` but not `abcdef`), and one of 1 or 2 characters
    is never masked by its value: it cannot be told from ordinary text (`exit 1`) and hides
    nothing (anyone can try every one); as a URL or DSN password it is masked by position."""
    for s in secrets:
        if len(s) >= 4:
            text = text.replace(s, "***")
        elif len(s) == 3 and s in text:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(s)}(?![A-Za-z0-9])", "***", text)
    return mask_credentials(text)


def redacted_config(config: dict[str, Any]) -> dict[str, Any]:
    """A copy of config fit to print: secret-looking keys' values replaced by ***."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: "***" if SECRET_KEY.search(str(k)) and v not in (None, "") else walk(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(config)
