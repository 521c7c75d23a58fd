"""The bot's memory: feedback votes and the events it has answered.

One SQLAlchemy database (``DATABASE_URL``; by default an SQLite file) holds
two tables:

- ``feedback``: one row per person per answer (a unique constraint), with the
  question, the FAQ id and its score, the channel, the time and the vote. A
  second click changes that person's vote instead of adding one.
- ``processed_events``: a row per Slack event (or command, or click) being
  answered, keyed by what identifies it. Inserting the row is the *claim*: the
  primary key lets exactly one process win, so an event Slack retries, or
  that reaches two replicas sharing the database, is answered once. A claim
  that was never finished (its process died) may be taken over after a lease,
  so Slack's later retries still get an answer.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

log = logging.getLogger(__name__)

VOTES = ("helpful", "not_helpful")
# Slack retries after about 1 and 5 minutes; a claim older than this whose
# process never finished it is considered abandoned.
DEFAULT_LEASE_SECONDS = 45.0
KEEP_EVENTS_SECONDS = 7 * 24 * 3600


class Base(DeclarativeBase):
    """Declarative base of the bot's tables."""


class Feedback(Base):
    """One person's vote on one answer."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("answer_id", "user_id", name="one_vote_per_user_per_answer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    query: Mapped[str] = mapped_column(Text)
    faq_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    channel_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    vote: Mapped[str] = mapped_column(String(16))
    voted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(Base):
    """A Slack event, command or click that one process has claimed to answer."""

    __tablename__ = "processed_events"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


@dataclass(frozen=True)
class Vote:
    """What one click on "Helpful" / "Not helpful" records."""

    answer_id: str
    user_id: str
    query: str
    faq_id: str | None
    score: float | None
    channel_id: str | None
    vote: str


@dataclass(frozen=True)
class VoteResult:
    """The outcome of recording a vote: the tally after it, and whether it
    replaced an earlier, different vote of the same person."""

    helpful: int
    not_helpful: int
    changed: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine for ``url``; SQLite gets settings for several
    threads and processes (WAL, a busy timeout) so replicas can share a file."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


class Store:
    """Feedback votes and answered-event claims in one SQLAlchemy database."""

    def __init__(self, url: str, *, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> None:
        self.url = url
        self.lease_seconds = lease_seconds
        self.owner = f"{os.uname().nodename[:40]}:{os.getpid()}"
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- exactly once --------------------------------------------------------------
    def claim(self, key: str, kind: str) -> bool:
        """True if this process may answer ``key`` now: nobody claimed it
        before, or a claim was abandoned (not finished within the lease)."""
        now = time.time()
        try:  # Core statements, not the ORM: this runs for every event, and cheaply
            with self.engine.begin() as connection:
                connection.execute(insert(ProcessedEvent).values(key=key, kind=kind, owner=self.owner,
                                                                 claimed_at=now))
            return True
        except IntegrityError:
            pass
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(ProcessedEvent)
                .where(ProcessedEvent.key == key, ProcessedEvent.done_at.is_(None),
                       ProcessedEvent.claimed_at < now - self.lease_seconds)
                .values(owner=self.owner, claimed_at=now)
            )
            won = taken.rowcount == 1
        if won:
            log.info("took over the abandoned claim on %s", key)
        return won

    def finish(self, key: str) -> None:
        """Mark ``key`` answered, so no lease expiry can ever answer it again."""
        with self.engine.begin() as connection:
            connection.execute(update(ProcessedEvent).where(ProcessedEvent.key == key).values(done_at=time.time()))

    def prune(self, older_than_seconds: float = KEEP_EVENTS_SECONDS) -> int:
        """Forget finished events older than Slack could ever retry them."""
        cutoff = time.time() - older_than_seconds
        with Session(self.engine) as session, session.begin():
            result = session.execute(delete(ProcessedEvent).where(ProcessedEvent.claimed_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    # -- feedback ------------------------------------------------------------------
    def record_vote(self, vote: Vote) -> VoteResult:
        """Record ``vote``; a person's second vote on the same answer replaces the first."""
        if vote.vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, got {vote.vote!r}")
        changed = False
        row = Feedback(answer_id=vote.answer_id, user_id=vote.user_id, query=vote.query, faq_id=vote.faq_id,
                       score=vote.score, channel_id=vote.channel_id, vote=vote.vote, voted_at=_utcnow())
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            with Session(self.engine) as session, session.begin():
                previous = session.scalar(
                    select(Feedback.vote).where(Feedback.answer_id == vote.answer_id,
                                                Feedback.user_id == vote.user_id)
                )
                changed = previous != vote.vote
                session.execute(
                    update(Feedback)
                    .where(Feedback.answer_id == vote.answer_id, Feedback.user_id == vote.user_id)
                    .values(vote=vote.vote, voted_at=_utcnow())
                )
        helpful, not_helpful = self.tally(vote.answer_id)
        return VoteResult(helpful=helpful, not_helpful=not_helpful, changed=changed)

    def tally(self, answer_id: str) -> tuple[int, int]:
        """(helpful, not helpful) votes on one answer."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(Feedback.vote, func.count()).where(Feedback.answer_id == answer_id).group_by(Feedback.vote)
            ).all()
        counts = {vote: int(n) for vote, n in rows}
        return counts.get("helpful", 0), counts.get("not_helpful", 0)

    def votes(self) -> list[Feedback]:
        """Every recorded vote, oldest first (for reports and tests)."""
        with Session(self.engine) as session:
            return list(session.scalars(select(Feedback).order_by(Feedback.id)))
