"""docker-compose.yml, read as Docker would (no engine runs the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from psycopg.conninfo import conninfo_to_dict

from service.postgres import normalize_url

ROOT = Path(__file__).resolve().parent.parent


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_postgres_is_pinned_kept_on_a_volume_and_health_checked() -> None:
    compose = _compose()
    postgres = compose["services"]["postgres"]
    image, _, tag = postgres["image"].partition(":")
    assert image == "postgres"
    assert tag and tag[0].isdigit() and int(tag.split(".")[0]) >= 15, "pin a major version >= 15"
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_migrate_runs_yoyo_once_after_postgres_is_healthy() -> None:
    services = _compose()["services"]
    migrate = services["migrate"]
    assert migrate["build"] == "."
    assert migrate["command"][:3] == ["yoyo", "apply", "--batch"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"


def test_api_starts_after_both_and_points_at_the_same_database() -> None:
    services = _compose()["services"]
    api, migrate, postgres = services["api"], services["migrate"], services["postgres"]
    assert api["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }
    assert "--no-migrate" in api["command"]  # the migrate job owns the schema
    api_db = conninfo_to_dict(normalize_url(api["environment"]["DATABASE_URL"]))
    yoyo_db = conninfo_to_dict(normalize_url(migrate["command"][migrate["command"].index("--database") + 1]))
    assert api_db == yoyo_db
    env = postgres["environment"]
    assert (api_db["host"], api_db["user"], api_db["password"], api_db["dbname"]) == (
        "postgres",
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        env["POSTGRES_DB"],
    )
    # published on the loopback address unless the user says otherwise
    assert api["ports"] == ["${WORKTRACK_PUBLISH:-127.0.0.1}:8000:8000"]


def test_the_image_ships_what_the_migrate_job_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("yoyo.ini", "migrations", "sql", "service"):
        assert f"COPY {needed}" in dockerfile or f" {needed} " in dockerfile, needed
