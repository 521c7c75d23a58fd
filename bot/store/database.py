"""The bot's memory: feedback votes and the intake of work to answer.

One SQLAlchemy database (``DATABASE_URL``; by default an SQLite file, or
PostgreSQL through psycopg 3 with the ``postgres`` extra) holds:

- ``feedback``: one row per person per answer (a unique constraint), with the
  question, the FAQ id and its score, the channel, the time and the vote. A
  second click changes that person's vote instead of adding one. Question
  text and user ids are blanked after ``FEEDBACK_RETENTION_DAYS``.
- ``button_refs``: what the buttons of an answer stand for, on platforms
  whose buttons cannot carry it (Discord), kept ``FEEDBACK_RETENTION_DAYS``.
- ``intake``: every accepted event, command or click, recorded *before* it is
  acknowledged and worked from there (see :mod:`bot.store.intake`). Its unique key
  is what answers each question once across retries, replicas and crashes.

The schema is versioned with Alembic (:mod:`bot.store.migrations`), upgraded when a
:class:`Store` opens the database and by ``faq-bot db upgrade``.

:func:`open_store` is how the bot and the CLI open it: every failure becomes
one sentence of ours (:func:`store_errors`), and commands that only read may
ask it not to create a store that is not there.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import (
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

from bot.errors import NoStoreError, StoreUnavailableError
from bot.messages import STARTUP_DATABASE
from bot.store.scoping import Scope, only, tenant_values
from bot.tenancy import Tenant
from faq_core.errors import ConfigError, FAQBotError

log = logging.getLogger(__name__)

VOTES = ("helpful", "not_helpful")
DEFAULT_RETENTION_DAYS = 90
POSTGRES_EXTRA_HINT = "pip install 'faq-bot[postgres]'"


class Base(DeclarativeBase):
    """Declarative base of the bot's tables (the schema Alembic's migrations build)."""


class TenantColumns:
    """The tenant a row belongs to (:mod:`bot.store.scoping`): NULL ``workspace`` means
    stored without one (before rows were scoped, or a Discord DM)."""

    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    workspace: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enterprise: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Feedback(TenantColumns, Base):
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


class IntakeRow(TenantColumns, Base):
    """One accepted piece of work (a question, a command, a click), from its
    arrival to its answer. ``id`` gives the arrival order; ``key`` is unique."""

    __tablename__ = "intake"
    __table_args__ = (Index("ix_intake_state_id", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[float] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[float] = mapped_column(Float)
    done_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ReplicaIndexRow(Base):
    """A routed FAQ index one replica serves, and its revision (see
    :mod:`bot.serving.replicas`): ``faq-bot status`` per index."""

    __tablename__ = "replica_indexes"

    replica_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    index_ref: Mapped[str] = mapped_column(String(512), primary_key=True)
    revision: Mapped[str] = mapped_column(String(64))
    serving_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ReplicaRow(Base):
    """One running bot process and the FAQ revision it serves (see :mod:`bot.serving.replicas`)."""

    __tablename__ = "replicas"

    replica_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    index_name: Mapped[str] = mapped_column(String(255))
    revision: Mapped[str] = mapped_column(String(64))
    serving_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)


class IndexPin(Base):
    """The revision ``faq-bot rollback`` pinned every replica to (one row at most)."""

    __tablename__ = "index_pin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[str] = mapped_column(String(64))
    pinned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class ButtonRef(TenantColumns, Base):
    """What the buttons of one answer stand for (an encoded
    :class:`~bot.conversation.payloads.AnswerRef`), for platforms whose buttons carry too
    little to hold it: a Discord ``custom_id`` has 100 characters."""

    __tablename__ = "button_refs"

    answer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


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
    tenant: Tenant | None = None  # where the click came from, as the platform vouched for it


@dataclass(frozen=True)
class VoteResult:
    """The outcome of recording a vote: the tally after it, and whether it
    replaced an earlier, different vote of the same person."""

    helpful: int
    not_helpful: int
    changed: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


def normalise_url(url: str) -> str:
    """``DATABASE_URL`` as SQLAlchemy should read it: ``postgresql://`` and
    ``postgres://`` mean psycopg 3 (SQLAlchemy would otherwise pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def describe_url(url: str) -> str:
    """``url`` for people: the password hidden, and a relative SQLite file
    followed by where it is (it depends on the folder the command runs in)."""
    try:
        parsed = make_url(normalise_url(url))
    except Exception:  # not a URL SQLAlchemy reads: never echoed, it may hold a password
        return "the DATABASE_URL given (not a URL SQLAlchemy can read)"
    if parsed.get_backend_name() != "sqlite":
        return parsed.render_as_string(hide_password=True)
    path = _sqlite_file(url)  # SQLite URLs hold no password: shown as written
    return url if path is None or path.is_absolute() else f"{url} ({path.absolute()})"


def _sqlite_file(url: str) -> Path | None:
    """The file an SQLite ``url`` names (None: not SQLite, in memory, or a ``file:`` URI)."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _failure(url: str, error: BaseException) -> FAQBotError:
    """``error`` (raised opening or upgrading the store at ``url``) as one sentence of ours:
    a database server that cannot be reached is a failed service, anything else a setting to fix."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error  # the driver's words
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else type(cause).__name__
    server = not normalise_url(url).startswith("sqlite")
    if server and isinstance(error, (OperationalError, InterfaceError, OSError)):
        return StoreUnavailableError(f"the database at {describe_url(url)} (DATABASE_URL) cannot be reached: {reason}")
    return ConfigError(STARTUP_DATABASE.format(reason=f"{reason}, at {describe_url(url)}"))


@contextmanager
def store_errors(url: str) -> Iterator[None]:
    """Turn what opening or upgrading the store at ``url`` raises into one of
    ours: :class:`StoreUnavailableError` (a database server down or refusing:
    a service failed) or :class:`ConfigError` (a URL no driver opens, an
    SQLite file that cannot be created or written: read-only, no such folder)."""
    try:
        yield
    except FAQBotError:
        raise
    except (SQLAlchemyError, OSError, ValueError) as error:
        raise _failure(url, error) from None


def open_store(url: str, *, create: bool = True) -> Store:
    """The store at ``url``, its schema upgraded, every failure one sentence
    (:func:`store_errors`). With ``create=False`` (commands that only read) an
    SQLite file that does not exist is not created: :class:`NoStoreError`."""
    with store_errors(url):
        path = _sqlite_file(normalise_url(url))
        if not create and path is not None and not path.exists():
            raise NoStoreError(f"there is no store yet at {describe_url(url)}: the bot creates it when it starts, "
                               "or run 'faq-bot db upgrade' (DATABASE_URL says where it is)")
        return Store(url)


def _create_private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (0600) before SQLite
    would create it world-readable: it holds questions and user ids."""
    path = _sqlite_file(url)
    if path is None or path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine for ``url``. SQLite gets WAL, a busy timeout and
    ``BEGIN IMMEDIATE`` transactions (so a read-then-write such as claiming
    work is atomic across threads and processes sharing the file). Raises
    :class:`ConfigError` for a URL no installed driver can open."""
    url = normalise_url(url)
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise ConfigError(STARTUP_DATABASE.format(
                reason=f"it names PostgreSQL, but psycopg is not installed: {POSTGRES_EXTRA_HINT}")) from None
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    if not url.startswith("sqlite"):
        try:
            return create_engine(url, pool_pre_ping=True)
        except Exception as error:  # an unknown dialect or a missing driver
            raise ConfigError(STARTUP_DATABASE.format(reason=str(error).splitlines()[0])) from None
    memory = url in ("sqlite://", "sqlite:///:memory:")
    if not memory:
        _create_private_sqlite_file(url)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):  # type: ignore[no-untyped-def]
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class WriteGate:
    """One writer at a time, urgent writers first.

    SQLite writes one transaction at a time. Left to itself, a thread that
    finds the file locked sleeps and tries again, and the threads waiting
    are served in no particular order, so an acknowledgement could wait
    behind every worker write queued before it. Here the threads of one
    process take turns instead, and a waiting urgent writer (the intake's
    insert before an acknowledgement) always goes before waiting ordinary ones.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._urgent_turn = threading.Condition(self._lock)
        self._ordinary_turn = threading.Condition(self._lock)
        self._busy = False
        self._urgent_waiting = 0
        self._ordinary_waiting = 0

    def waiting(self) -> tuple[int, int]:
        """(urgent, ordinary) writers waiting at the gate now (for tests and metrics)."""
        with self._lock:
            return self._urgent_waiting, self._ordinary_waiting

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Hold the gate, ahead of every ordinary writer waiting."""
        with self._lock:
            self._urgent_waiting += 1
            while self._busy:
                self._urgent_turn.wait()
            self._urgent_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    @contextmanager
    def ordinary(self) -> Iterator[None]:
        """Hold the gate once no urgent writer is waiting."""
        with self._lock:
            self._ordinary_waiting += 1
            while self._busy or self._urgent_waiting:
                self._ordinary_turn.wait()
            self._ordinary_waiting -= 1
            self._busy = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        with self._lock:
            self._busy = False
            if self._urgent_waiting:
                self._urgent_turn.notify()
            else:
                self._ordinary_turn.notify()


class Store:
    """Feedback votes and the intake in one SQLAlchemy database, its schema
    upgraded to the latest migration on opening."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = normalise_url(url)
        # host, process and a per-store tag: who holds a lease, unique even for two stores in one process
        self.owner = f"{os.uname().nodename[:40]}:{os.getpid()}:{secrets.token_hex(3)}"
        self.engine = make_engine(url)
        # The acknowledgement path writes through its own connections: it never
        # waits for one that the workers (or a slow read) hold. An in-memory
        # database is one connection, so it shares it.
        memory = self.engine.url.database in (None, "", ":memory:")
        self.ack_engine = self.engine if self.engine.dialect.name == "sqlite" and memory else make_engine(url)
        # SQLite runs one writer at a time, and a writer that finds the file
        # locked sleeps in growing steps (up to 100 ms) before trying again: a
        # burst of acknowledgements then waits on those sleeps. The threads of
        # one process queue at this gate instead and go the moment it is free,
        # an acknowledgement before any worker write waiting with it.
        self.gate: WriteGate | None = WriteGate() if self.engine.dialect.name == "sqlite" else None
        if upgrade:
            from bot.store.migrations import upgrade as upgrade_schema

            upgrade_schema(self.engine)

    @property
    def is_postgres(self) -> bool:
        """Whether the database is PostgreSQL (which claims work with SKIP LOCKED)."""
        return self.engine.dialect.name == "postgresql"

    def describe(self) -> str:
        """The database URL with any password hidden, for logs."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction (committed on leaving, rolled back on an error)."""
        gate: AbstractContextManager[object] = nullcontext() if self.gate is None else self.gate.ordinary()
        with gate, self.engine.begin() as connection:
            yield connection

    @contextmanager
    def ack_transaction(self) -> Iterator[Connection]:
        """A write transaction for what must be recorded before a sender is
        acknowledged: on connections of its own, and on SQLite ahead of every
        worker write still waiting for the file (it waits only for the one
        running, which workers keep short)."""
        gate: AbstractContextManager[object] = nullcontext() if self.gate is None else self.gate.urgent()
        with gate, self.ack_engine.begin() as connection:
            yield connection

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
        if self.ack_engine is not self.engine:
            self.ack_engine.dispose()

    def reachable(self) -> bool:
        """A cheap check for readiness probes: can the database run ``SELECT 1``?
        (On a raw connection: no transaction, so it never waits for SQLite's write lock.)"""
        try:
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute("SELECT 1")
                cursor.fetchall()
                cursor.close()
            finally:
                connection.close()
            return True
        except Exception as error:
            log.warning("the store is unreachable: %s", str(error).splitlines()[0] if str(error) else error)
            return False

    # -- privacy -------------------------------------------------------------------
    def forget_old_feedback(self, retention_days: float = DEFAULT_RETENTION_DAYS) -> int:
        """Blank the question text and user id of votes older than
        ``retention_days`` (the vote, FAQ id and score stay, so tallies hold)."""
        cutoff = _utcnow() - timedelta(days=retention_days)
        with self.transaction() as connection:
            result = connection.execute(
                update(Feedback)
                .where(Feedback.voted_at < cutoff, Feedback.query != "")
                .values(query="", user_id=literal("forgotten:") + cast(Feedback.id, String))
            )
            return int(result.rowcount or 0)

    # -- button references -----------------------------------------------------------
    def keep_ref(self, answer_id: str, value: str, tenant: Tenant | None = None) -> None:
        """Remember what the buttons of answer ``answer_id`` (posted for ``tenant``) stand for (idempotent)."""
        try:
            with self.transaction() as connection:
                connection.execute(insert(ButtonRef).values(answer_id=answer_id, value=value,
                                                            created_at=time.time(), **tenant_values(tenant)))
        except IntegrityError:
            pass  # a retried reply keeps its first reference

    def ref(self, answer_id: str, tenant: Tenant | None = None) -> str | None:
        """The encoded reference kept for ``answer_id`` of ``tenant``, or None (unknown, another
        tenant's, or forgotten)."""
        with self.engine.connect() as connection:
            value = connection.execute(select(ButtonRef.value).where(ButtonRef.answer_id == answer_id,
                                                                     only(tenant).where(ButtonRef))).scalar()
        return None if value is None else str(value)

    def forget_old_refs(self, retention_days: float = DEFAULT_RETENTION_DAYS) -> int:
        """Delete button references older than ``retention_days`` (they hold questions)."""
        cutoff = time.time() - retention_days * 86400
        with self.transaction() as connection:
            result = connection.execute(delete(ButtonRef).where(ButtonRef.created_at < cutoff))
            return int(result.rowcount or 0)

    # -- feedback ------------------------------------------------------------------
    def record_vote(self, vote: Vote) -> VoteResult:
        """Record ``vote``; a person's second vote on the same answer replaces the first."""
        if vote.vote not in VOTES:
            raise ValueError(f"vote must be one of {VOTES}, got {vote.vote!r}")
        changed = False
        row = Feedback(answer_id=vote.answer_id, user_id=vote.user_id, query=vote.query, faq_id=vote.faq_id,
                       score=vote.score, channel_id=vote.channel_id, vote=vote.vote, voted_at=_utcnow(),
                       **tenant_values(vote.tenant))
        mine = only(vote.tenant).where(Feedback)
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            # the person voted on this answer before; only their vote of this tenant changes
            # (the same answer id in another tenant's row is a forged click: it changes nothing)
            with Session(self.engine) as session, session.begin():
                previous = session.scalar(
                    select(Feedback.vote).where(Feedback.answer_id == vote.answer_id,
                                                Feedback.user_id == vote.user_id, mine)
                )
                changed = previous is not None and previous != vote.vote
                session.execute(
                    update(Feedback)
                    .where(Feedback.answer_id == vote.answer_id, Feedback.user_id == vote.user_id, mine)
                    .values(vote=vote.vote, voted_at=_utcnow())
                )
        helpful, not_helpful = self.tally(vote.answer_id, only(vote.tenant))
        return VoteResult(helpful=helpful, not_helpful=not_helpful, changed=changed)

    def tally(self, answer_id: str, scope: Scope | None = None) -> tuple[int, int]:
        """(helpful, not helpful) votes on one answer (within ``scope``; None: every tenant's)."""
        query = select(Feedback.vote, func.count()).where(Feedback.answer_id == answer_id)
        if scope is not None:
            query = query.where(scope.where(Feedback))
        with Session(self.engine) as session:
            rows = session.execute(query.group_by(Feedback.vote)).all()
        counts = {vote: int(n) for vote, n in rows}
        return counts.get("helpful", 0), counts.get("not_helpful", 0)

    def votes(self, scope: Scope | None = None) -> list[Feedback]:
        """Every recorded vote (within ``scope``; None: every tenant's), oldest first (for reports and tests)."""
        query = select(Feedback).order_by(Feedback.id)
        if scope is not None:
            query = query.where(scope.where(Feedback))
        with Session(self.engine) as session:
            return list(session.scalars(query))

