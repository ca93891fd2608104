"""The test tiers: which fixtures need a server, and how a parametrized test that reaches one only
for some values marks just those cases `services` (so `make test-fast` leaves them out)."""

from __future__ import annotations

from typing import Any

import pytest

# Fixtures that start or reach a database server (the shared MariaDB/PostgreSQL, or the ROW-binlog
# MariaDB of helpers.mariadb_server). tests/conftest.py marks every test using one `services`.
SERVICE_FIXTURES = frozenset({"mysql_db", "pg_db", "binlog_db"})


def services_param(*values: Any, **kwargs: Any) -> Any:
    """`pytest.param(*values)` marked `services`, for a case that requests a server fixture at run
    time (`request.getfixturevalue("pg_db")`), which collection cannot see."""
    marks = kwargs.pop("marks", ())
    marks = [marks] if isinstance(marks, pytest.MarkDecorator) else list(marks)
    return pytest.param(*values, marks=[pytest.mark.services, *marks], **kwargs)


def require_services_marker(request: pytest.FixtureRequest, fixture: str) -> None:
    """Fail a test that reaches a server fixture without the `services` marker (it would run, and
    touch a server, in the fast tier)."""
    if request.node.get_closest_marker("services") is None:
        pytest.fail(
            f"{request.node.nodeid} uses {fixture} without the services marker; "
            "parametrize with helpers.tiers.services_param or mark the test @pytest.mark.services"
        )
