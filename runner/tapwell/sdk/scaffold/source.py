"""Which tapwell a scaffolded repo depends on: the one that made it.

A repo made by `tapwell new` must install wherever its maker's tapwell installed. tapwell
installed from an index is pinned by version (`tapwell==0.1.0`); tapwell installed from a
local checkout, a built wheel or as an editable install (PEP 610 records where it came from
in the distribution's `direct_url.json`) is named by a PEP 508 direct reference
(`tapwell @ file:///path/to/tapwell`), which pip installs from that path. The scaffold
writes it as one dependency line that a user changes to an index pin once tapwell is on
their index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

import tapwell


@dataclass(frozen=True)
class TapwellSource:
    """The dependency line for tapwell, and a sentence saying where it points."""

    requirement: str
    origin: str


def tapwell_source() -> TapwellSource:
    """The requirement that installs this very tapwell again (see the module docstring)."""
    dist = _installed()
    if dist is None:  # run from a source tree on PYTHONPATH, not installed
        root = Path(tapwell.__file__).resolve().parents[2]
        if (root / "pyproject.toml").exists():
            return _local(root.as_uri(), f"the tapwell source at {root}")
        return _index(tapwell.__version__)
    text = dist.read_text("direct_url.json")
    if not text:  # no direct URL: it came from an index
        return _index(dist.version)
    direct = json.loads(text)
    url = str(direct.get("url") or "")
    if not url.startswith("file:"):  # a VCS or remote archive URL: pip can fetch it again
        return TapwellSource(f"tapwell @ {url}", f"tapwell from {url}")
    path = Path(unquote(urlparse(url).path))
    if not path.exists():  # a wheel or folder that has gone since: fall back to the version
        return _index(dist.version)
    editable = bool((direct.get("dir_info") or {}).get("editable"))
    kind = "the editable tapwell checkout" if editable else "the local tapwell"
    return _local(path.as_uri(), f"{kind} at {path}")


def _installed() -> metadata.Distribution | None:
    """tapwell's installed distribution: one an installer recorded (a `tapwell.egg-info` left in
    a checkout by a build also answers to the name when the checkout is the working folder)."""
    return next(
        (d for d in metadata.distributions(name="tapwell") if d.read_text("INSTALLER")), None
    )


def _index(version: str) -> TapwellSource:
    return TapwellSource(f"tapwell=={version}", f"tapwell {version} from your package index")


def _local(uri: str, origin: str) -> TapwellSource:
    return TapwellSource(f"tapwell @ {uri}", origin)
