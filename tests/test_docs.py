"""The documentation holds: the ER diagram covers the schema, the examples run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from service import queries

ROOT = Path(__file__).resolve().parent.parent
DOC = queries.load("schema_doc")


def test_the_er_diagram_names_every_table_and_foreign_key(db_url: str) -> None:
    diagram = (ROOT / "docs" / "database-schema.md").read_text()
    with psycopg.connect(db_url) as conn:
        tables = {row[0] for row in conn.execute(DOC["doc_columns"])}
        foreign_keys = conn.execute(DOC["doc_foreign_keys"]).fetchall()
    missing = [t for t in sorted(tables) if f"    {t} {{" not in diagram or f"## {t}\n" not in diagram]
    missing += [
        name
        for child, parent, name in foreign_keys
        if f'    {parent} ||--o{{ {child} : "{name}"' not in diagram
    ]
    assert not missing, f"regenerate docs/database-schema.md with scripts/er-diagram; missing: {missing}"


def _example_env(live_server: str, project: str) -> dict[str, str]:
    return {**os.environ, "WORKTRACK_URL": live_server, "WORKTRACK_PROJECT": project}


def test_the_curl_walkthrough_runs(live_server: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    result = subprocess.run(
        ["sh", str(ROOT / "docs" / "examples" / "walkthrough.sh")],
        env=_example_env(live_server, "curl-tour"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"claimed_by":"agent-1"' in result.stdout
    assert '"completion_notes":"indexed"' in result.stdout
    assert '"exported_at"' in result.stdout


def test_the_python_client_runs(live_server: str) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "examples" / "client.py")],
        env=_example_env(live_server, "python-tour"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "pending, priority >= 5: ['T-1', 'T-2']"
    assert [line.split()[1] for line in lines if line.startswith("claimed")] == ["T-1", "T-2", "T-3"]
    assert "epic progress: {'tasks': 3, 'completed': 3, 'percent': 100.0}" in lines
    assert lines[-1] == "export: 3 tasks, 9 history rows"
