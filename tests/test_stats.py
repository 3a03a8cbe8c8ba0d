"""`worktrack stats` on a real database, lock waits included."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from service.cli import main
from service.stats import collect


def test_stats_report_sizes_indexes_ratios_connections_and_lock_waits(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as setup:
        setup.execute("INSERT INTO projects (key, name) VALUES ('p', 'P')")
    holder = psycopg.connect(db_url)
    holder.execute("UPDATE projects SET name = 'held' WHERE key = 'p'")  # holds the row lock

    def wait_for_the_lock() -> None:
        with psycopg.connect(db_url, autocommit=True) as waiter:
            waiter.execute("UPDATE projects SET name = 'waiting' WHERE key = 'p'")

    waiter = threading.Thread(target=wait_for_the_lock)
    waiter.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            report = collect(db_url)
            if report["lock_waits"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        holder.rollback()
        holder.close()
        waiter.join(timeout=10)

    assert {t["table"] for t in report["tables"]} >= {"tasks", "task_history", "projects", "sprints"}
    assert any(i["index"] == "idx_tasks_ready" for i in report["indexes"])
    assert all(isinstance(i["unused"], bool) for i in report["indexes"])
    assert report["cache_hit_ratio"]["floor_percent"] == 90.0
    assert sum(c["count"] for c in report["connections"]) >= 2
    (wait,) = report["lock_waits"]
    assert "waiting" in wait["waiting_query"] and wait["blocking_pid"] > 0
    assert report["longest_transactions"]
    if not report["slowest_statements"]:
        assert report["statements_note"].startswith("pg_stat_statements is")


def test_stats_json_and_an_unreachable_database(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["stats", "--json"]) == 0
    assert "cache_hit_ratio" in json.loads(capsys.readouterr().out)
    assert main(["stats"]) == 0
    assert "Index use" in capsys.readouterr().out
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    assert main(["stats"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
