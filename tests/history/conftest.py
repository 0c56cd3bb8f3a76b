"""History fixtures: a real PostgreSQL server for the session, and one history target per
test on either backend (SQLite file or a fresh PostgreSQL database)."""

from __future__ import annotations

import pytest

from tests.history.history_support import PostgresServer, postgres_bin


@pytest.fixture(scope="session")
def postgres():
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    server = PostgresServer(bindir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def history_target(request, tmp_path):
    """A history to record into: a SQLite file, or a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "history" / "certscan-history.db")
    return request.getfixturevalue("postgres").new_database()
