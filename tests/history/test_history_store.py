"""The history store: concurrent SQLite writers both land, a history that cannot be written
costs exit 5 and nothing else, the schema's version and migrations, no password in output."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time

import pytest

from scanner.history.store import SCHEMA_VERSION, HistoryStore
from tests.history.history_support import CERTSCAN, WEEKS, certscan, scan_week, write_week


def _popen_scan(folder, week: int, history: str) -> subprocess.Popen:
    argv = [CERTSCAN, "scan", "--inventory", str(write_week(folder, week)), "--as-of", WEEKS[week - 1],
            "--fail-on", "none", "--format", "json", "--output-dir", str(folder / f"w{week}"), "-q",
            "--history", history]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def _recorded(history: str) -> list[str]:
    store = HistoryStore(history)
    try:
        return [row.scan_id for row in store.scans()]
    finally:
        store.close()


def test_two_scans_recording_into_one_sqlite_file_at_once_both_land(tmp_path):
    history = str(tmp_path / "shared.db")
    HistoryStore(history).close()  # the schema exists; the writers meet on the data
    # Hold the write lock, start two writers, keep them waiting on it, then let go: both must
    # wait for the lock (busy timeout) and land, one after the other.
    holder = sqlite3.connect(history, isolation_level=None, timeout=5)
    holder.execute("BEGIN IMMEDIATE")
    writers = [_popen_scan(tmp_path / "a", 1, history), _popen_scan(tmp_path / "b", 2, history)]
    time.sleep(3)
    assert all(w.poll() is None for w in writers), "a writer finished while the file was locked"
    holder.execute("COMMIT")
    holder.close()
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        assert "recorded in history" in err
    assert len(_recorded(history)) == 2
    with sqlite3.connect(history) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        per_scan = conn.execute("SELECT scan_id, count(*) FROM certificates GROUP BY scan_id ORDER BY 2").fetchall()
    assert [n for _, n in per_scan] == [4, 5]


def test_concurrent_writers_on_postgresql_both_land(tmp_path, postgres):
    history = postgres.new_database()
    writers = [_popen_scan(tmp_path / "a", 1, history), _popen_scan(tmp_path / "b", 2, history),
               _popen_scan(tmp_path / "c", 2, history)]  # the same scan twice: recorded once
    results = [(w.wait(timeout=120), w.stderr.read()) for w in writers]
    assert all(code == 0 for code, _ in results), results
    assert len(_recorded(history)) == 2


def test_a_history_that_cannot_be_written_is_exit_5_after_every_output(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the history's folder should be")
    run = scan_week(tmp_path, 1, "--history", blocker / "history.db", fail_on="high",
                    formats="json,sarif,junit,markdown,evidence")
    assert run.code == 5, run
    assert "the scan could not be recorded" in run.err and "not-a-folder" in run.err
    assert "Traceback" not in run.err
    out = tmp_path / "w1"
    for name in ("certscan-results.json", "certscan.sarif", "certscan-junit.xml", "certscan-report.md",
                 "certscan-evidence.zip"):
        assert (out / name).is_file(), name
    assert json.loads((out / "certscan-results.json").read_text())["gate"]["exit_code"] == 0


def test_a_failing_gate_keeps_its_code_and_still_names_the_history_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    run = scan_week(tmp_path, 2, "--history", blocker / "history.db")  # week 2 fails at high
    assert run.code == 1
    assert "the scan could not be recorded" in run.err


def test_an_unreachable_postgresql_is_exit_5_and_never_shows_the_password(tmp_path):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    target = f"postgresql://certscan:hunter2-secret@127.0.0.1:{port}/history"
    run = scan_week(tmp_path, 1, "--history", target)
    assert run.code == 5, run
    assert "hunter2-secret" not in run.out + run.err
    assert "postgresql://certscan:***@127.0.0.1" in run.err
    assert (tmp_path / "w1" / "certscan-results.json").is_file()
    # reading it is bad input (exit 2), still without the password
    shown = certscan("history", "--history", target)
    assert shown.code == 2 and "hunter2-secret" not in shown.out + shown.err


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_schema_version_and_migrations(tmp_path, backend, request):
    target = str(tmp_path / "old.db") if backend == "sqlite" else request.getfixturevalue("postgres").new_database()
    old = HistoryStore(target, upto=1)  # a store written by the first schema
    assert old.schema_version() == 1
    old.close()
    run = scan_week(tmp_path, 1, "--history", target)  # opening migrates it
    assert run.code == 0 and "recorded in history" in run.err, run
    store = HistoryStore(target)
    assert store.schema_version() == SCHEMA_VERSION == 2
    inspector = store.sa.inspect(store.engine)
    assert {"results_fingerprint"} <= {i["name"] for i in inspector.get_indexes("results")}
    assert {"certificates_domain"} <= {i["name"] for i in inspector.get_indexes("certificates")}
    # a store from a newer certscan is refused, not written over
    with store.engine.begin() as conn:
        conn.execute(store.t.meta.update().values(value="99"))
    store.close()
    newer = scan_week(tmp_path, 2, "--history", target, fail_on="none")
    assert newer.code == 5 and "schema version 99 was written by a newer certscan" in newer.err
    assert certscan("history", "--history", target).code == 2


def test_baseline_history_needs_a_history_and_bad_baselines_are_exit_2(tmp_path):
    run = scan_week(tmp_path, 1, "--baseline", "history")
    assert run.code == 2 and "--baseline" in run.err and "--history" in run.err
    missing = scan_week(tmp_path, 1, "--baseline", tmp_path / "nope.json")
    assert missing.code == 2 and "nope.json" in missing.err and "no such file" in missing.err
    not_results = tmp_path / "inventory-w1.json"  # an inventory is not a results file
    wrong = scan_week(tmp_path, 1, "--baseline", not_results)
    assert wrong.code == 2 and "not a certscan results file" in wrong.err
    assert not (tmp_path / "w1" / "certscan-results.json").exists()  # refused before scanning
    no_history = certscan("history", "--history", tmp_path / "typo.db", "--since", "2026-13-01")
    assert no_history.code == 2 and "--since" in no_history.err
    no_history = certscan("history", "--history", tmp_path / "typo.db")
    assert no_history.code == 2 and "no such history file" in no_history.err
    assert not (tmp_path / "typo.db").exists()  # reading never creates a history
    assert "Traceback" not in run.err + missing.err + wrong.err


def test_config_file_sets_baseline_and_history(tmp_path):
    first = scan_week(tmp_path, 2, fail_on="none")
    assert first.code == 0
    config = tmp_path / "certscan.yaml"
    config.write_text(f"apiVersion: certscan/v1\nkind: Config\nbaseline: {tmp_path / 'w2' / 'certscan-results.json'}\n"
                      f"history: {tmp_path / 'hist.db'}\n")
    run = scan_week(tmp_path, 3, "--config", config)
    assert run.code == 1 and "recorded in history" in run.err
    results = json.loads((tmp_path / "w3" / "certscan-results.json").read_text())
    assert results["gate"]["findings"] == 1 and results["baseline"]["counts"]["new"] == 1
