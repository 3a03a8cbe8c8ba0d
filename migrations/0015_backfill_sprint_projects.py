"""The backfill from sprints.jira_project_key (0015_backfill_sprint_projects/apply.sql).

Not one transaction (it commits in batches): each statement is committed on its
own and none is undone when a later one fails; every statement skips what is
already done, so applying the migration again completes it. The rollback
(rollback.sql) runs only on `rollback`. See migrations/lib/worktrack_sql_steps.py.
"""

import sys
from pathlib import Path

from yoyo import step

LIB = str(Path(__file__).parent / "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)
from worktrack_sql_steps import apply_file, rollback_file  # noqa: E402

__depends__ = {"0014_sprint_indexes"}
__transactional__ = False

HERE = Path(__file__).with_suffix("")
steps = [
    step(apply_file(HERE / "apply.sql")),
    step(None, rollback_file(HERE / "rollback.sql")),
]
