"""Trainees, sessions and answers in SQL through SQLAlchemy 2.

SQLite by default (one local file); the schema is created and upgraded by the Alembic
migrations in ``migrations/`` (never ``create_all``), so a later team server can run the same
migrations on PostgreSQL.
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
    create_engine,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tells.errors import OutputError

MIGRATIONS = Path(__file__).with_name("migrations")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Trainee(Base):
    __tablename__ = "trainees"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sessions: Mapped[list[TrainingSession]] = relationship(back_populates="trainee")


class TrainingSession(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: SessionConfig as a dict
    config: Mapped[dict] = mapped_column(JSON)
    #: the ordered steps (trials and lessons) chosen at the start
    plan: Mapped[list] = mapped_column(JSON)
    #: index of the next step in ``plan``
    position: Mapped[int] = mapped_column(Integer, default=0)
    #: display frame period the browser measured at the start (ms)
    frame_period_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    trainee: Mapped[Trainee] = relationship(back_populates="sessions")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="session", order_by="Answer.trial_index"
    )


class Answer(Base):
    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    trial_index: Mapped[int] = mapped_column(Integer)
    #: pretest | practice | posttest
    phase: Mapped[str] = mapped_column(String(16))
    item_key: Mapped[str] = mapped_column(String(200))
    face_key: Mapped[str] = mapped_column(String(64))
    emotion: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str] = mapped_column(String(16))
    correct: Mapped[bool] = mapped_column(Boolean)
    #: flash duration asked for, and measured on screen (rAF timestamps), in ms
    set_ms: Mapped[float] = mapped_column(Float)
    measured_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    measured_frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frame_period_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: times the flash was shown: one more for each flash that missed its duration by more
    #: than a display frame (dropped frames); the measured values are the last flash's
    flash_attempts: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: from the end of the flash to the answer
    reaction_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: key | click
    input_method: Mapped[str] = mapped_column(String(8), default="key")
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    session: Mapped[TrainingSession] = relationship(back_populates="answers")


def db_url(path_or_url: str | Path) -> str:
    s = str(path_or_url)
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).expanduser().resolve()}"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def open_db(path_or_url: str | Path) -> Engine:
    """Open (creating and migrating as needed) the trainer database.

    Raises
    ------
    OutputError
        The database file's folder cannot be created or the file cannot be written.
    """
    url = db_url(path_or_url)
    if url.startswith("sqlite:///"):
        p = Path(url.removeprefix("sqlite:///"))
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{p.parent}: cannot create the database folder ({exc.strerror})") from None
    engine = create_engine(url)
    try:
        migrate(engine)
    except Exception as exc:  # sqlite3.OperationalError and friends: unwritable, not a db
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(exc, SQLAlchemyError):
            raise OutputError(f"{url}: cannot open the trainer database ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
        raise
    return engine
