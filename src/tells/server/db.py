"""The workspace's tables (SQLAlchemy 2) and opening a database: SQLite under the data folder
by default, PostgreSQL (psycopg 3) for a ``postgresql://`` URL.

The schema is made and upgraded by the Alembic migrations in ``migrations/`` (version table
``ws_alembic_version``); the same database also holds the trainer's tables, upgraded by the
trainer's own migrations (:func:`tells.trainer.db.migrate`), so a member's training sessions
are ordinary trainer rows under a trainee named after the account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from tells.errors import OutputError

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "ws_alembic_version"
ROLES = ("admin", "coach", "member")
TEAM_ROLES = ("coach", "member")


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt


class Base(DeclarativeBase):
    pass


def _ts(nullable: bool = False):
    return mapped_column(DateTime(timezone=True), nullable=nullable,
                         default=None if nullable else utcnow)


class User(Base):
    __tablename__ = "ws_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: admin (everything), coach (may make teams), member
    role: Mapped[str] = mapped_column(String(16), default="member")
    created_at: Mapped[datetime] = _ts()


class Team(Base):
    __tablename__ = "ws_teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = _ts()
    #: delete recordings' media this many days after upload (None: keep)
    retention_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: keep the derived tables (events, report) when the media is deleted
    retention_keep_derived: Mapped[bool] = mapped_column(Boolean, default=True)


class Membership(Base):
    __tablename__ = "ws_memberships"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("ws_teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"), index=True)
    #: coach | member
    role: Mapped[str] = mapped_column(String(16))


class Invitation(Base):
    __tablename__ = "ws_invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("ws_teams.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    #: SHA-256 of the link's secret (the secret itself is shown once)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = _ts()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = _ts(True)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="SET NULL"), nullable=True)


class Login(Base):
    """A login session: the cookie carries a secret whose SHA-256 is ``id``."""

    __tablename__ = "ws_logins"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = _ts()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    __tablename__ = "ws_login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = _ts()
    ok: Mapped[bool] = mapped_column(Boolean)


class Person(Base):
    """Someone recorded in a team's calls (the subject of consent, export and erasure)."""

    __tablename__ = "ws_persons"
    __table_args__ = (UniqueConstraint("team_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("ws_teams.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = _ts()


class Recording(Base):
    __tablename__ = "ws_recordings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("ws_teams.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="SET NULL"), nullable=True)
    uploaded_at: Mapped[datetime] = _ts()
    #: SHA-256 of the media file (its name under media/); None once the media is deleted
    media_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    media_ext: Mapped[str] = mapped_column(String(8))
    size_bytes: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    codec: Mapped[str | None] = mapped_column(String(32), nullable=True)
    has_transcript: Mapped[bool] = mapped_column(Boolean, default=False)
    has_agenda: Mapped[bool] = mapped_column(Boolean, default=False)
    #: SHA-256 the analysis tables are stored under (analyses/<hash>/)
    analysis_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    media_deleted_at: Mapped[datetime | None] = _ts(True)
    derived_deleted_at: Mapped[datetime | None] = _ts(True)


class Consent(Base):
    """Who is recorded, who gave consent and when, and the notice they were shown."""

    __tablename__ = "ws_consents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("ws_recordings.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("ws_persons.id", ondelete="CASCADE"), index=True)
    given_by: Mapped[str] = mapped_column(String(200))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notice: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = _ts()


class AnalysisJob(Base):
    __tablename__ = "ws_jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("ws_recordings.id", ondelete="CASCADE"), index=True)
    #: queued | running | done | failed
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    frames_done: Mapped[int] = mapped_column(Integer, default=0)
    frames_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: the server process that runs it (a restarted server re-queues the others' jobs)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = _ts()
    started_at: Mapped[datetime | None] = _ts(True)
    finished_at: Mapped[datetime | None] = _ts(True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: events, faces, frames of the finished analysis
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Note(Base):
    __tablename__ = "ws_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("ws_recordings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"), nullable=True)
    #: index into the recording's events (None: a note on a time)
    event_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    t: Mapped[float] = mapped_column(Float)
    #: saw | missed | note
    verdict: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = _ts()


class Assignment(Base):
    __tablename__ = "ws_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("ws_teams.id", ondelete="CASCADE"), index=True)
    #: one member, or None for the whole team
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="CASCADE"), nullable=True)
    pack: Mapped[str] = mapped_column(String(64))
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = _ts()


class AuditEntry(Base):
    __tablename__ = "ws_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = _ts()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("ws_users.id", ondelete="SET NULL"), nullable=True)
    actor: Mapped[str] = mapped_column(String(64))
    #: e.g. upload, view, export, delete, purge, job.done, login
    action: Mapped[str] = mapped_column(String(32), index=True)
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    target: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


def db_url(path_or_url: str | Path) -> str:
    """A SQLAlchemy URL: ``postgresql://`` goes through psycopg 3, a path is a SQLite file."""
    from tells.trainer.db import db_url as plain_url

    s = str(path_or_url)
    if s.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + s.split("://", 1)[1]
    return plain_url(s)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def migrate(engine: Engine) -> None:
    """Bring the workspace schema and the trainer's schema to their newest migration."""
    from alembic import command
    from alembic.config import Config

    from tells.trainer.db import migrate as migrate_trainer

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    migrate_trainer(engine)


def open_db(path_or_url: str | Path, *, upgrade: bool = True) -> Engine:
    """Open (creating and migrating as needed) the workspace database.

    Raises
    ------
    OutputError
        The database cannot be reached, created or written.
    """
    from sqlalchemy.exc import SQLAlchemyError

    url = db_url(path_or_url)
    kw: dict = {}
    if url.startswith("sqlite:///"):
        p = Path(url.removeprefix("sqlite:///"))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{p.parent}: cannot create the database folder ({exc.strerror})") from None
        kw["connect_args"] = {"check_same_thread": False, "timeout": 10}
    else:
        kw.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    try:
        engine = create_engine(url, **kw)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise OutputError(f"{path_or_url}: not a database URL tells can use ({exc})") from None
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    if upgrade:
        try:
            migrate(engine)
        except (SQLAlchemyError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OutputError(f"{_safe(url)}: cannot open the workspace database ({first})") from None
    return engine


def _safe(url: str) -> str:
    """The URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
    return url
