"""The command line of access control: the first admin token, the loopback rule of
WORKTRACK_AUTH=disabled, worktrack token create/list/revoke."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx2 as httpx
import psycopg

from tests.helpers import serving
from tests.test_cli import _run


def test_serve_on_a_fresh_database_prints_one_admin_token_and_a_curl_line_that_works(
    empty_db_url: str,
) -> None:
    with serving(empty_db_url, "--demo", WORKTRACK_AUTH="required") as served:
        assert httpx.get(f"{served.base}/projects", timeout=5).status_code == 401
    output = served.output
    found = re.findall(r"created the admin token (wt_[A-Za-z0-9_-]{43})", output)
    assert len(found) == 1, output
    curl = re.search(
        r"try: curl -H 'Authorization: Bearer (wt_[A-Za-z0-9_-]{43})' (http://\S+/projects)", output
    )
    assert curl is not None and curl.group(1) == found[0], output
    # a second start makes no other token
    with serving(empty_db_url, WORKTRACK_AUTH="required") as again:
        answer = httpx.get(
            curl.group(2).replace(served.base, again.base), headers={"Authorization": f"Bearer {found[0]}"}
        )
        assert answer.status_code == 200
        assert [p["key"] for p in answer.json()["items"]] == ["atlas", "beacon", "comet"]
    assert "created the admin token" not in again.output


def test_auth_disabled_is_refused_off_loopback_with_one_line_and_exit_code_2(db_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "serve", "--host", "0.0.0.0", "--no-migrate"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": db_url, "WORKTRACK_AUTH": "disabled"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "worktrack: error: WORKTRACK_AUTH=disabled is allowed only on a loopback address, not 0.0.0.0"
    ]


def test_token_create_list_revoke(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (key, name) VALUES ('alpha', 'Alpha')")
    made = _run(
        "token",
        "create",
        "--name",
        "ci",
        "--role",
        "agent",
        "--project",
        "alpha",
        "--expires-in",
        "30d",
        database_url=db_url,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert re.fullmatch(r"wt_[A-Za-z0-9_-]{43}", token)
    listed = _run("token", "list", database_url=db_url)
    assert '"name": "ci"' in listed.stdout and token not in listed.stdout
    assert _run("token", "create", "--name", "ci", "--admin", database_url=db_url).returncode == 2
    assert (
        _run(
            "token", "create", "--name", "x", "--role", "read", "--project", "nope", database_url=db_url
        ).returncode
        == 2
    )
    assert _run("token", "revoke", "ci", database_url=db_url).returncode == 0
    assert _run("token", "revoke", "nobody", database_url=db_url).returncode == 1
    with psycopg.connect(db_url) as conn:
        assert conn.execute(
            "SELECT revoked_at IS NOT NULL, expires_at > now() + interval '29 days' FROM api_tokens"
        ).fetchall() == [(True, True)]
