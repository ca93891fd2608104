"""Fixtures for the runner's tests: a throwaway project (helpers.runner_project.Proj) in
tmp_path, and the rows the fake tap emits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from helpers.runner_project import Proj


@pytest.fixture(autouse=True)
def own_user_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Each test's own user cache folder (tapwell.runner.probe.user_cache_dir), also for the
    `tapwell` processes it starts: what one test's connectors answered never serves another."""
    folder = tmp_path_factory.mktemp("user-cache")
    monkeypatch.setenv("TAPWELL_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def proj(tmp_path: Path) -> Proj:
    return Proj(tmp_path)


@pytest.fixture
def expected_rows() -> Callable[[int], list[tuple[int, str]]]:
    return lambda n: [(i, f"v{i}") for i in range(1, n + 1)]
