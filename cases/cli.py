"""`streetwatch cases`: the case service: serve, migrate, tokens, export reviewed cases.

Heavy imports (FastAPI, SQLAlchemy, uvicorn) happen inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from streetwatch.errors import InputError

DB_HELP = "database URL (default: $DATABASE_URL, else an embedded SQLite file in --data-dir)"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cases",
        help="the case service: serve, migrate, tokens, export reviewed cases",
        description="The case service: intake API for edge boxes, review page, Open311 view, export for training.",
    )
    commands = parser.add_subparsers(dest="cases_command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve", help="run the HTTP service", description="Run the case service (migrates first)."
    )
    _storage_args(serve)
    serve.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (use PostgreSQL for more than one)")
    serve.add_argument("--dev", action="store_true", help="dev mode: no secret key needed (never in production)")
    serve.set_defaults(func=_serve)

    migrate = commands.add_parser(
        "migrate", help="bring the database schema up to date", description="Run the migrations."
    )
    _storage_args(migrate)
    migrate.set_defaults(func=_migrate)

    token = commands.add_parser("token", help="create, list and revoke API tokens", description="API tokens.")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_commands.add_parser(
        "create",
        help="create a token and print it once",
        description="Create a token. The token is printed once on stdout (alone on its line) and stored hashed.",
    )
    _storage_args(create)
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--device", metavar="ID", help="a device token for this edge box")
    who.add_argument("--reviewer", metavar="NAME", help="a reviewer token (review page and API)")
    who.add_argument("--client", metavar="NAME", help="an Open311 client's api_key (reports made by people)")
    create.add_argument("--cameras", metavar="CAM1,CAM2", help="cameras the device may file for (device tokens)")
    create.set_defaults(func=_token_create)
    listing = token_commands.add_parser("list", help="list tokens (never the secrets)", description="List tokens.")
    _storage_args(listing)
    listing.set_defaults(func=_token_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by id", description="Revoke a token by its id.")
    _storage_args(revoke)
    revoke.add_argument("token_id", type=int, help="the id shown by `token list`")
    revoke.set_defaults(func=_token_revoke)

    export = commands.add_parser(
        "export",
        help="export reviewed cases for training",
        description="Write reviewed cases and their clean frames in the streetwatch.cases-export format "
        "(read by `streetwatch data from-cases`).",
    )
    _storage_args(export)
    export.add_argument("--status", default="accepted,rejected", help="accepted and/or rejected (default both)")
    export.add_argument("--since", type=_aware_datetime, help="reviewed at or after this time (ISO-8601 with zone)")
    export.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
    export.add_argument(
        "--public",
        action="store_true",
        help="an export fit to publish: the public copies of the frames (people and other plates hidden), "
        "no reviewer names; cases without a public copy are left out",
    )
    export.set_defaults(func=_export)


def _storage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help=DB_HELP)
    parser.add_argument("--data-dir", type=Path, help="home of the default SQLite file (default ./streetwatch-cases)")
    parser.add_argument("--evidence-dir", type=Path, help="evidence store (default: evidence/ beside the SQLite file)")


def _aware_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ISO-8601 like 2026-01-31T00:00:00Z; got {text!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"give a time zone (e.g. {text}Z or {text}+08:00)")
    return moment


def _storage(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from streetwatch.cases.settings import load_storage_settings

    return load_storage_settings(database_url=args.db, data_dir=args.data_dir, evidence_dir=args.evidence_dir)


def _migrated_sessions(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from streetwatch.cases import migrate
    from streetwatch.cases.db import make_sessionmaker, open_database

    storage = _storage(args)
    engine = open_database(storage)
    migrate.upgrade(engine)
    return storage, make_sessionmaker(engine)


def _serve(args: argparse.Namespace) -> int:
    import os
    import secrets

    import uvicorn

    from streetwatch.cases import migrate
    from streetwatch.cases.db import open_database
    from streetwatch.cases.http_deadlines import PROTOCOL
    from streetwatch.cases.settings import load_settings

    overrides = {"database_url": args.db, "data_dir": args.data_dir, "evidence_dir": args.evidence_dir}
    if args.dev:
        overrides["dev_mode"] = True
    settings = load_settings(**overrides)  # refuses weak secrets before anything starts
    if args.workers < 1:
        raise InputError(f"--workers must be at least 1; got {args.workers}")
    url = settings.resolved_database_url()
    if args.workers > 1 and url.startswith("sqlite"):
        print("warning: several workers on SQLite serialise every write; use PostgreSQL", file=sys.stderr)
    migrate.upgrade(open_database(settings))
    # Workers are separate processes: hand them the resolved settings through the environment.
    os.environ["STREETWATCH_CASES_DATABASE_URL"] = url
    os.environ.pop("DATABASE_URL", None)
    os.environ["STREETWATCH_CASES_EVIDENCE_DIR"] = str(settings.resolved_evidence_dir())
    if settings.dev_mode:
        os.environ["STREETWATCH_CASES_DEV_MODE"] = "true"
        if settings.secret_key is None:  # one key for all workers, so a session works on each
            os.environ["STREETWATCH_CASES_SECRET_KEY"] = secrets.token_urlsafe(48)
    print(f"case service on http://{args.host}:{args.port} (database {_redacted(url)})", file=sys.stderr)
    uvicorn.run(
        "streetwatch.cases.app:app_from_env",
        factory=True,
        http=PROTOCOL,  # uvicorn's h11 protocol with request deadlines (slow clients are cut off)
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,  # the service writes its own structured access log
        timeout_graceful_shutdown=10,
    )
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _migrate(args: argparse.Namespace) -> int:
    from streetwatch.cases import migrate
    from streetwatch.cases.db import open_database

    storage = _storage(args)
    revision = migrate.upgrade(open_database(storage))
    print(f"database {_redacted(storage.resolved_database_url())} at revision {revision}")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from streetwatch.cases.db import session_scope
    from streetwatch.cases.tokens import TokenKind, create_token

    if args.device:
        kind, subject = TokenKind.DEVICE, args.device
    elif args.reviewer:
        kind, subject = TokenKind.REVIEWER, args.reviewer
    else:
        kind, subject = TokenKind.CLIENT, args.client
    cameras = [c.strip() for c in (args.cameras or "").split(",") if c.strip()]
    _, sessions = _migrated_sessions(args)
    with session_scope(sessions) as session:
        issued = create_token(session, kind, subject, cameras)
    print(f"created {kind} token #{issued.record_id} for {subject}; it is shown only once:", file=sys.stderr)
    print(issued.token)
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from streetwatch.cases.db import session_scope
    from streetwatch.cases.tokens import list_tokens

    _, sessions = _migrated_sessions(args)
    with session_scope(sessions) as session:
        rows = list_tokens(session)
        print(f"{'id':>4}  {'kind':8}  {'name':24}  {'prefix':10}  {'created':20}  {'revoked':20}  cameras")
        for t in rows:
            revoked = t.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ") if t.revoked_at else "-"
            created = t.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            print(
                f"{t.id:>4}  {t.kind:8}  {t.subject:24}  {t.prefix:10}  {created:20}  {revoked:20}  "
                + ",".join(t.cameras)
            )
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from streetwatch.cases.db import session_scope
    from streetwatch.cases.tokens import revoke_token

    _, sessions = _migrated_sessions(args)
    with session_scope(sessions) as session:
        record = revoke_token(session, args.token_id)
        print(f"revoked {record.kind} token #{record.id} ({record.subject})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from streetwatch.cases.evidence import EvidenceStore
    from streetwatch.cases.export import export_cases, parse_statuses

    statuses = parse_statuses(args.status)
    storage, sessions = _migrated_sessions(args)
    store = EvidenceStore(storage.resolved_evidence_dir())
    summary = export_cases(sessions, store, args.out, statuses, args.since, public=args.public)
    print(
        f"exported {summary.manifest.count} cases to {args.out}"
        + (
            f" ({summary.skipped_without_clean_frame} without a {'public copy of a ' if args.public else ''}clean frame"
            " left out)"
            if summary.skipped_without_clean_frame
            else ""
        )
    )
    return 0
