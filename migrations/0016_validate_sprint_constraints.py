"""Validate the constraints 0013 added NOT VALID (0016_validate_sprint_constraints/apply.sql).

Not one transaction: each VALIDATE is committed on its own and none is undone
when a later one fails (a validated constraint stays validated); applying the
migration again validates the rest. The rollback (rollback.sql) runs only on
`rollback`. See migrations/lib/worktrack_sql_steps.py.
"""

import sys
from pathlib import Path

from yoyo import step

LIB = str(Path(__file__).parent / "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)
from worktrack_sql_steps import apply_file, rollback_file  # noqa: E402

__depends__ = {"0015_backfill_sprint_projects"}
__transactional__ = False

HERE = Path(__file__).with_suffix("")
steps = [
    step(apply_file(HERE / "apply.sql")),
    step(None, rollback_file(HERE / "rollback.sql")),
]
