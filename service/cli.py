"""The `worktrack` command: serve the API, migrate, create the database."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from service import config, migrations, postgres
from service.config import ConfigError
from service.migrations import MigrationFailed
from service.postgres import DatabaseUnavailable


def _init_db(url: str, *, quiet: bool = False) -> None:
    """Create the database if it is missing, then apply pending migrations."""
    if postgres.create_database_if_missing(url):
        _say(f"created database {postgres.database_name(url)}", quiet)
    started = time.perf_counter()
    applied = migrations.apply(url)
    elapsed = (time.perf_counter() - started) * 1000
    if applied:
        _say(f"applied {len(applied)} migration(s) in {elapsed:.0f} ms: {', '.join(applied)}", quiet)
    else:
        _say("database is up to date", quiet)


def _say(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(message, flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from service import protocol, request_log

    # Every setting is read here, once: a bad one ends in one line and a non-zero exit
    # before any worker starts (workers that fail at import are restarted for ever).
    os.environ["WORKTRACK_LISTEN_HOST"] = args.host
    config.check_all()
    if not _auth_allowed_here(args.host):
        return 2
    server = config.ServerSettings.from_env()
    url, source = postgres.resolve_database_url()
    if args.migrate:
        _init_db(url)
    else:
        postgres.check_connection(url)
    if args.demo:
        from service import seed

        if seed.is_empty(url):
            seed.seed_demo(url)
            _say("seeded demo data")
    _announce_access(url, args)
    _say(f"serving on http://{args.host}:{args.port} (database: {postgres.redact(url)}, {source})")
    # Workers import the app themselves and find the database through this variable.
    os.environ["DATABASE_URL"] = url
    # uvicorn re-raises SIGTERM after its graceful shutdown; turning it into
    # SystemExit lets atexit stop the embedded PostgreSQL this process started.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # uvloop also sets TCP_NODELAY on accepted sockets; without it keep-alive
        # responses can wait ~40 ms on delayed ACKs when running several workers.
        loop="uvloop" if has_uvloop else "auto",
        # httptools with a bound on the header size and the time headers take to arrive
        http=protocol.http_protocol(),
        h11_max_incomplete_event_size=server.max_header_bytes,  # when httptools is missing
        limit_concurrency=server.max_connections,
        timeout_graceful_shutdown=math.ceil(server.shutdown_grace),
        access_log=False,  # service.request_log writes one line per request
        # Applied in this process and again in each worker (logging does not cross
        # into the worker processes); request lines are INFO.
        log_config=request_log.logging_config(args.log_level),
        log_level=args.log_level,
    )
    return 0


def _auth_allowed_here(host: str) -> bool:
    """WORKTRACK_AUTH=disabled is for local experiments: refused off loopback."""
    from service import access

    if access.auth_enabled():
        return True
    if host.strip("[]") not in config.LOOPBACK_HOSTS:
        print(
            f"worktrack: error: WORKTRACK_AUTH=disabled is allowed only on a loopback address, not {host}",
            file=sys.stderr,
        )
        return False
    return True


def _announce_access(url: str, args: argparse.Namespace) -> None:
    """On a fresh database make and print the first admin token (and, with --demo,
    a curl line that uses it)."""
    import psycopg

    from service import access, tokens

    if not access.auth_enabled():
        _say("access control is disabled (WORKTRACK_AUTH=disabled): every caller is an admin")
        return
    with psycopg.connect(url) as conn:
        token = tokens.first_admin(conn)
    if token is not None:
        _say(
            f"first start: created the admin token {token} (token 'admin', stored only as a digest: "
            "keep it now; `worktrack token create` makes more)"
        )
        if args.demo:
            _say(f"try: curl -H 'Authorization: Bearer {token}' http://{args.host}:{args.port}/projects")
    elif args.demo:
        _say(
            f"try: curl -H 'Authorization: Bearer $WORKTRACK_TOKEN' http://{args.host}:{args.port}/projects"
            " (an admin token: `worktrack token create --name me --admin`)"
        )


def cmd_token(args: argparse.Namespace) -> int:
    """worktrack token create/list/revoke, on the database directly (as its owner)."""
    import json

    import psycopg

    from service import tokens

    url, _ = postgres.resolve_database_url()
    with psycopg.connect(url) as conn:
        if args.action == "create":
            role = "admin" if args.admin else args.role
            if role is None:
                print("worktrack: error: give --admin, or --role and --project", file=sys.stderr)
                return 2
            try:
                expires_in = tokens.interval(args.expires_in)
                token = tokens.create(conn, args.name, role, args.project or [], expires_in)
            except tokens.TokenError as exc:
                print(f"worktrack: error: {exc}", file=sys.stderr)
                return 2
            print(token)  # shown once: only its digest is stored
        elif args.action == "list":
            print(json.dumps(tokens.listing(conn), indent=2))
        elif not tokens.revoke(conn, args.name):
            print(f"worktrack: error: no token is named {args.name!r}", file=sys.stderr)
            return 1
    return 0


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def cmd_mcp(args: argparse.Namespace) -> int:
    """The MCP server on stdin/stdout, for an agent that starts it as a subprocess."""
    import anyio

    from service import mcp_server
    from service.config import PoolSettings
    from service.db import create_pool

    url, _ = postgres.resolve_database_url()
    if args.migrate:
        _init_db(url, quiet=True)  # stdout carries the protocol: nothing else may go there
    else:
        postgres.check_connection(url)
    pool = create_pool(url, PoolSettings.from_env())

    async def serve() -> None:
        from service import access

        await pool.open(wait=False)
        try:
            # The stdio server acts as the token in WORKTRACK_TOKEN.
            if access.auth_enabled():
                await access.act_as(pool, os.environ.get("WORKTRACK_TOKEN", "").strip())
            else:
                access.current.set(access.NOBODY_CHECKS)
            await mcp_server.build(pool).run_stdio_async()
        finally:
            await pool.close()

    anyio.run(serve)
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from service import seed

    url, _ = postgres.resolve_database_url()
    seed.seed_demo(url, show_progress=sys.stderr.isatty())
    _say("demo data is in place")
    return 0


def cmd_import_legacy(args: argparse.Namespace) -> int:
    from service import legacy

    url, _ = postgres.resolve_database_url()
    reports = legacy.import_files(url, users=args.users, sprints=args.sprints)
    for report in reports:
        print(report.summary())
        for line, reason in report.rejected:
            print(f"  {report.path}:{line}: rejected: {reason}")
    return 0


def cmd_import_jira(args: argparse.Namespace) -> int:
    from service import jira_import

    url, _ = postgres.resolve_database_url()
    summary = jira_import.import_folder(
        url, args.folder, board_project=args.board_project, status_map=args.status_map
    )
    print("\n".join(summary.lines()))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from service import doctor

    url, _ = postgres.resolve_database_url()
    return doctor.run(url, as_json=args.json)


def cmd_stats(args: argparse.Namespace) -> int:
    from service import stats

    url, _ = postgres.resolve_database_url()
    return stats.run(url, as_json=args.json)


def cmd_maintain(args: argparse.Namespace) -> int:
    from service import maintain

    url, _ = postgres.resolve_database_url()
    return maintain.run(url, args.action)


def cmd_init_db(args: argparse.Namespace) -> int:
    url, _ = postgres.resolve_database_url()
    _init_db(url)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    if args.action == "list" and (args.count is not None or args.all):
        raise MigrationFailed("migrate list takes neither --count nor --all")
    if args.action == "apply" and args.all:
        raise MigrationFailed("migrate apply applies every pending migration; --all is for rollback")
    if args.all and args.count is not None:
        raise MigrationFailed("give either --count or --all, not both")
    url, _ = postgres.resolve_database_url()
    if args.action == "apply":
        started = time.perf_counter()
        applied = migrations.apply(url, args.count)
        elapsed = (time.perf_counter() - started) * 1000
        for migration_id in applied:
            print(f"applied {migration_id}")
        print(f"{len(applied)} migration(s) applied in {elapsed:.0f} ms")
    elif args.action == "rollback":
        count = None if args.all else (args.count or 1)
        rolled_back = migrations.rollback(url, count)
        for migration_id in rolled_back:
            print(f"rolled back {migration_id}")
        print(f"{len(rolled_back)} migration(s) rolled back")
    else:
        for state in migrations.status(url):
            print(f"{'A' if state.applied else 'U'}  {state.id}")
        print("A = applied, U = unapplied")
    return 0


def _positive_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text!r}")
    return value


def maintain_actions() -> list[str]:
    from service.maintain import ACTIONS

    return list(ACTIONS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="worktrack",
        description="PostgreSQL work tracking. The database comes from DATABASE_URL, "
        "or else an embedded PostgreSQL under WORKTRACK_DATA_DIR.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="info logs one line per request; warning and above do not",
    )
    serve.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        help="do not create the database or apply migrations (when DBAs migrate)",
    )
    serve.add_argument("--demo", action="store_true", help="seed demo data into an empty database first")
    serve.set_defaults(func=cmd_serve)

    mcp = sub.add_parser("mcp", help="serve the MCP tools on stdio (for an agent to start)")
    mcp.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        help="do not create the database or apply migrations (when DBAs migrate)",
    )
    mcp.set_defaults(func=cmd_mcp)

    seed = sub.add_parser("seed", help="load demo data (safe to run twice)")
    seed.add_argument("--demo", action="store_true", required=True, help="the demo data set")
    seed.set_defaults(func=cmd_seed)

    legacy = sub.add_parser("import-legacy", help="upsert legacy users and sprints from CSV files")
    legacy.add_argument("--users", type=Path, help="CSV: email,username,full_name,jira_account_id,is_active")
    legacy.add_argument(
        "--sprints",
        type=Path,
        help="CSV: jira_sprint_id,name,state,start_date,end_date,goal,jira_board_id,jira_project_key",
    )
    legacy.set_defaults(func=cmd_import_legacy)

    jira = sub.add_parser("import-jira", help="a Jira board's sprints and issues with history, from JSON")
    jira.add_argument("folder", type=Path, help="Jira API responses: board configuration, sprints, issues")
    jira.add_argument("--board-project", help="project key to import into (default: location.projectKey)")
    jira.add_argument("--status-map", help='Jira statuses by name: "In Review=in_review,Won\'t Do=cancelled"')
    jira.set_defaults(func=cmd_import_jira)

    init_db = sub.add_parser("init-db", help="create the database if missing, then migrate")
    init_db.set_defaults(func=cmd_init_db)

    migrate = sub.add_parser("migrate", help="apply, roll back or list migrations")
    migrate.add_argument("action", choices=["apply", "rollback", "list"])
    migrate.add_argument(
        "--count",
        type=_positive_count,
        help="apply: only the first N pending migrations (default: all); "
        "rollback: the newest N applied ones (default 1)",
    )
    migrate.add_argument("--all", action="store_true", help="rollback: every applied migration")
    migrate.set_defaults(func=cmd_migrate)

    doctor = sub.add_parser(
        "doctor", help="check the database: exit 0 healthy, 1 problems, 2 could not check"
    )
    doctor.add_argument("--json", action="store_true", help="findings as JSON")
    doctor.set_defaults(func=cmd_doctor)

    stats = sub.add_parser("stats", help="sizes, index use, cache hits, connections, locks, slow statements")
    stats.add_argument("--json", action="store_true", help="as JSON")
    stats.set_defaults(func=cmd_stats)

    maintain = sub.add_parser("maintain", help="upkeep that is safe while the API serves")
    maintain.add_argument("action", choices=maintain_actions())
    maintain.set_defaults(func=cmd_maintain)

    # Listed for --help; main() hands `bench` and its own options to service.bench.
    token = sub.add_parser("token", help="create, list and revoke API tokens")
    token_sub = token.add_subparsers(dest="action", required=True)
    create = token_sub.add_parser("create", help="make a token and print it (once)")
    create.add_argument("--name", required=True)
    create.add_argument("--admin", action="store_true", help="the instance role: everything")
    create.add_argument("--role", choices=["read", "write", "agent"])
    create.add_argument("--project", action="append", help="a project key (repeat for more)")
    create.add_argument("--expires-in", help="e.g. 30d, 12h, 15m (default: never)")
    token_sub.add_parser("list", help="the tokens, without their secrets")
    revoke = token_sub.add_parser("revoke", help="revoke a token by name")
    revoke.add_argument("name")
    token.set_defaults(func=cmd_token)

    sub.add_parser("bench", help="measure queries and HTTP on a scratch database (bench --help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from service import bench

        return _guarded(lambda: bench.main(argv[1:]))
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("yoyo").setLevel(logging.WARNING)  # the CLI prints what it applied
    return _guarded(lambda: int(args.func(args)), checking=args.command in ("doctor", "stats", "maintain"))


def _guarded(command: Callable[[], int], *, checking: bool = False) -> int:
    """Run a command; the errors a user can cause end in one line, not a traceback.

    The operations commands (doctor, stats, maintain) exit 2 when they could not
    reach the database at all.
    """
    try:
        return command()
    except (ConfigError, DatabaseUnavailable, MigrationFailed) as exc:
        print(f"worktrack: error: {exc}", file=sys.stderr)
        return 2 if checking else 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
