"""Finding the database: URLs, settings, the embedded server, testcontainers."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from service import embedded, migrations, postgres
from service.config import ConfigError, PoolSettings
from service.postgres import DatabaseUnavailable
from tests import databases


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:secret@db.example:5433/worktrack?sslmode=require",
        "postgresql+psycopg://app@db.example/worktrack",
        "postgres://app@/worktrack?host=/var/run/postgresql",
        "host=db.example port=5433 dbname=worktrack user=app",
    ],
)
def test_urls_in_every_accepted_spelling_survive_the_trip_through_yoyo(url: str) -> None:
    normalized = postgres.normalize_url(url)
    assert conninfo_to_dict(postgres.normalize_url(postgres.yoyo_url(normalized))) == conninfo_to_dict(
        normalized
    )
    assert postgres.yoyo_url(normalized).startswith("postgresql+psycopg:///worktrack")


@pytest.mark.parametrize(
    "url", ["mysql://root@localhost/db", "not a url at all", "postgresql://host/db?no_such_option=1"]
)
def test_a_malformed_url_is_one_clear_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"^malformed database URL"):
        postgres.normalize_url(url)


def test_redact_drops_the_password() -> None:
    redacted = postgres.redact("postgresql://app:hunter2@db.example/worktrack")
    assert "hunter2" not in redacted
    assert "user=app" in redacted


def test_database_url_wins_over_the_embedded_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.example/worktrack")
    url, source = postgres.resolve_database_url()
    assert source == "DATABASE_URL"
    assert conninfo_to_dict(url) == {"user": "app", "host": "db.example", "dbname": "worktrack"}


def test_pool_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKTRACK_POOL_MIN_SIZE", "3")
    monkeypatch.setenv("WORKTRACK_POOL_MAX_SIZE", "7")
    monkeypatch.setenv("WORKTRACK_STATEMENT_TIMEOUT_MS", "250")
    settings = PoolSettings.from_env()
    assert (settings.min_size, settings.max_size, settings.statement_timeout_ms) == (3, 7, 250)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WORKTRACK_POOL_MAX_SIZE": "many"}, "WORKTRACK_POOL_MAX_SIZE must be an integer"),
        ({"WORKTRACK_POOL_MIN_SIZE": "5", "WORKTRACK_POOL_MAX_SIZE": "2"}, "is below"),
        ({"WORKTRACK_POOL_TIMEOUT": "-1"}, "WORKTRACK_POOL_TIMEOUT must be positive"),
    ],
)
def test_bad_pool_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        PoolSettings.from_env()


def test_create_database_if_missing_creates_once(pg_server: str) -> None:
    url = postgres.with_database(pg_server, "worktrack_created_by_test")
    try:
        assert postgres.create_database_if_missing(url) is True
        assert postgres.create_database_if_missing(url) is False
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("worktrack_created_by_test",)
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS worktrack_created_by_test WITH (FORCE)")


def test_an_unreachable_server_is_one_clear_line() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        postgres.check_connection("postgresql://nobody@127.0.0.1:1/nothing", timeout=1)
    message = str(caught.value)
    assert message.startswith("cannot connect to ")
    assert "\n" not in message


def test_the_embedded_server_refuses_an_unusable_data_folder_in_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match="embedded PostgreSQL could not start") as caught:
        embedded.server_url(blocker / "pgdata")
    assert "\n" not in str(caught.value)


def test_testcontainers_postgres_takes_the_migrations() -> None:
    reason = databases.docker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer(databases.POSTGRES_IMAGE) as container:
        url = postgres.normalize_url(container.get_connection_url(driver=None))
        assert migrations.apply(url) == migrations.known_migration_ids()
        assert all(state.applied for state in migrations.status(url))
