"""The batch catalogue ``OUT/catalog.sqlite`` (SQLAlchemy): one row per distinct input.

Rows are keyed by content hash (:mod:`tells.batch.hashing`); ``path`` is where the content was
last seen. Only the batch client writes the catalogue (workers never touch it), so SQLite's
single-writer model is enough; ``tells batch status`` may read it while a batch runs.

Statuses
--------
``queued``, ``running``
    Handed to the pool / started on a worker (a batch that died leaves these; a rerun redoes
    them).
``done``
    Analysed; its folder under OUT is complete.
``no_face``
    Analysed, no face in any frame; the folder is written as ``tells analyze`` writes it and
    ``error`` says why it holds no face rows.
``failed``
    The input itself is unusable (corrupt, not a video): ``error`` has the reason. Its content
    will not change, so a rerun skips it too.
``error``
    Something else went wrong (a worker kept dying, an internal error) after all retries; a
    rerun tries again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Float, Integer, String, Text, create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from tells.errors import OutputError

CATALOG_NAME = "catalog.sqlite"
#: statuses a rerun does not redo
FINAL_STATUSES = frozenset({"done", "no_face", "failed"})
#: statuses whose output folder is a complete ``tells analyze`` result
RESULT_STATUSES = frozenset({"done", "no_face"})


class _Base(DeclarativeBase):
    pass


class Entry(_Base):
    """One input of a batch, identified by the SHA-256 of its bytes."""

    __tablename__ = "inputs"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    #: modification time when hashed: lets a rerun reuse the hash of an unchanged file
    mtime_ns: Mapped[int] = mapped_column(Integer)
    #: folder under OUT holding this input's results
    output: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    #: times the input was handed to the pool (retries by the scheduler not counted)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: ``host:pid`` of the worker process that produced the result
    worker: Mapped[str | None] = mapped_column(Text, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    frames: Mapped[int | None] = mapped_column(Integer, default=None)
    faces: Mapped[int | None] = mapped_column(Integer, default=None)
    events: Mapped[int | None] = mapped_column(Integer, default=None)
    micro_events: Mapped[int | None] = mapped_column(Integer, default=None)
    macro_events: Mapped[int | None] = mapped_column(Integer, default=None)
    #: seconds the worker spent analysing, and writing the result folder
    analysis_s: Mapped[float | None] = mapped_column(Float, default=None)
    write_s: Mapped[float | None] = mapped_column(Float, default=None)
    fps: Mapped[float | None] = mapped_column(Float, default=None)
    #: UTC ISO-8601 times
    queued_at: Mapped[str | None] = mapped_column(String(20), default=None)
    started_at: Mapped[str | None] = mapped_column(String(20), default=None)
    finished_at: Mapped[str | None] = mapped_column(String(20), default=None)

    def to_dict(self) -> dict:
        return {c.key: getattr(self, c.key) for c in self.__table__.columns}


def utc_now(t: float | None = None) -> str:
    """``t`` (epoch seconds, default now) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


@dataclass
class Catalog:
    """Open (and create if needed) the catalogue of a batch output folder.

    Parameters
    ----------
    out : the batch output folder; the catalogue is ``out / "catalog.sqlite"``.
    create : create the file if missing; with ``False`` a missing catalogue is an
        :class:`OutputError`.

    Examples
    --------
    >>> cat = Catalog(Path("out"))                   # doctest: +SKIP
    >>> [r["status"] for r in cat.rows()]            # doctest: +SKIP
    ['done', 'failed']
    """

    out: Path
    create: bool = True

    def __post_init__(self) -> None:
        self.path = Path(self.out) / CATALOG_NAME
        if not self.create and not self.path.is_file():
            raise OutputError(f"{self.out}: no batch catalogue here ({CATALOG_NAME} is missing)")
        self._engine = create_engine(f"sqlite:///{self.path}")
        try:
            _Base.metadata.create_all(self._engine)
        except SQLAlchemyError as exc:
            raise OutputError(f"cannot open the catalogue {self.path} ({exc.orig or exc})") from None

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def session(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    def get(self, content_hash: str) -> Entry | None:
        with self.session() as s:
            return s.get(Entry, content_hash)

    def all(self) -> list[Entry]:
        with self.session() as s:
            return list(s.scalars(select(Entry).order_by(Entry.path)))

    def rows(self) -> list[dict]:
        """Every row as a plain dict, ordered by path."""
        return [e.to_dict() for e in self.all()]

    def save(self, *entries: Entry) -> None:
        """Insert or update whole rows in one transaction."""
        with self.session() as s, s.begin():
            for e in entries:
                s.merge(e)

    def update(self, content_hash: str, **fields) -> None:
        """Set some fields of one row."""
        with self.session() as s, s.begin():
            entry = s.get(Entry, content_hash)
            if entry is not None:
                for k, v in fields.items():
                    setattr(entry, k, v)
