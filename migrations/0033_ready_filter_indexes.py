"""The ready queue's per-feature and per-agent-type indexes hold only ready tasks
(0033_ready_filter_indexes/apply.sql).

Not one transaction (CONCURRENTLY cannot run inside one): each statement is committed
on its own and none is undone when a later one fails; run again, the migration
builds what is missing. See migrations/lib/worktrack_sql_steps.py.
"""

import sys
from pathlib import Path

from yoyo import step

LIB = str(Path(__file__).parent / "lib")
if LIB not in sys.path:
    sys.path.insert(0, LIB)
from worktrack_sql_steps import apply_file, rollback_file  # noqa: E402

__depends__ = {"0032_api_role"}
__transactional__ = False

HERE = Path(__file__).with_suffix("")
steps = [
    step(apply_file(HERE / "apply.sql")),
    step(None, rollback_file(HERE / "rollback.sql")),
]
