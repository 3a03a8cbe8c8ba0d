"""Expand: analyses get a project, and sprints, analyses and tasks get the rules the
legacy tables lacked, added NOT VALID (0016 validates them without blocking writes).

One table per transaction (0013_link_sprints_to_projects/1_sprints.sql,
2_sprint_analyses.sql, 3_tasks.sql), each with a short lock_timeout: an ALTER TABLE
that waits for its lock makes every read of the table queue behind it, so rather
than wait long it gives up and is tried again (up to 40 times, a second apart).
A table already done stays done when a later one fails; running the migration again
completes it. See migrations/lib/worktrack_sql_steps.py.
"""

import sys
from pathlib import Path

from yoyo import step

LIB = str(Path(__file__).parent / "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)
from worktrack_sql_steps import apply_file, rollback_file  # noqa: E402

__depends__ = {"0012_sprint_reporting_tables"}
__transactional__ = False

HERE = Path(__file__).with_suffix("")
steps = [
    step(apply_file(HERE / "1_sprints.sql", retries=40)),
    step(apply_file(HERE / "2_sprint_analyses.sql", retries=40)),
    step(apply_file(HERE / "3_tasks.sql", retries=40)),
    step(None, rollback_file(HERE / "rollback.sql")),
]
