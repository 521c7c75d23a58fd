"""Recording every question the bot saw, for the review loop (``faq-bot review``).

Platform-neutral: :func:`recorder` turns a store and the settings into an
observer of the :class:`~bot.conversation.answering.Answerer` (``Answerer.observers``),
which writes one ``questions`` row per question with its outcome (answered,
ambiguous, no match, error), the best FAQ and its confidence, the closest
FAQs, where it was asked and, unless ``FAQ_RECORD_TEXT=false``, its text. A
platform's "Did you mean…?" handler calls :func:`record_pick` with the FAQ the
asker chose: the one explicit label of what a missed question meant.

Votes need no table of their own: the ``feedback`` rows carry the answer id
that :attr:`QuestionRow.answer_id` holds. People are counted by a
pseudonymous ``asker`` (a hash of platform, workspace and user id, never the
id), blanked with the text after ``FEEDBACK_RETENTION_DAYS``
(:func:`forget_old_questions`, run by the bot's periodic clean-up).

Each row is keyed by the intake key of its work, so a retried piece of work
is recorded once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    false,
    insert,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.conversation.answering import EMPTY, Answered, AnswerObserver
from bot.serving.holder import ServingEngine, as_serving
from bot.settings import BotSettings
from bot.store.database import DEFAULT_RETENTION_DAYS, Base, Feedback, Store, TenantColumns
from bot.store.grouped import GroupedWrites
from bot.store.scoping import Scope, tenant_values
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine
from faq_core.evaluation import LabelledQuery

log = logging.getLogger(__name__)

# How many of the closest FAQs a question's row keeps (JSON [[faq_id, score], ...]).
CLOSEST_KEPT = 5


class QuestionRow(Base):
    """One question the bot saw and what became of it."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str | None] = mapped_column(String(255), unique=True, nullable=True)
    answer_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str | None] = mapped_column(String(64), nullable=True)
    enterprise: Mapped[str | None] = mapped_column(String(64), nullable=True)
    channel_kind: Mapped[str] = mapped_column(String(16))
    asker: Mapped[str | None] = mapped_column(String(32), nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))
    faq_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    closest: Mapped[str | None] = mapped_column(Text, nullable=True)
    index_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    model: Mapped[str | None] = mapped_column(String(255), nullable=True)
    vector: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    @property
    def closest_faqs(self) -> list[tuple[str, float]]:
        """The closest FAQs as (id, score), best first."""
        if not self.closest:
            return []
        try:
            return [(str(faq), float(score)) for faq, score in json.loads(self.closest)]
        except (TypeError, ValueError):
            return []


_QUESTIONS = cast(Table, QuestionRow.__table__)


class PickRow(TenantColumns, Base):
    """One "Did you mean…?" click: which FAQ the asker of ``answer_id`` meant.
    ``shown_answer_id`` is the id of the answer the click showed (its votes)."""

    __tablename__ = "question_picks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    answer_id: Mapped[str] = mapped_column(String(64), index=True)
    shown_answer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    faq_id: Mapped[str] = mapped_column(String(128))
    picked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _utcnow() -> datetime:
    return datetime.now(UTC)


_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t\n?!.,;:¿¡…'\"“”‘’"


def normalise_text(text: str) -> str:
    """A question as compared for "the same question": case, spacing and
    surrounding punctuation ignored."""
    return _SPACES.sub(" ", text.casefold()).strip(_EDGE_PUNCTUATION)


def text_key(text: str) -> str:
    """A short stable key of :func:`normalise_text` (dismissals and dedupe use it)."""
    return hashlib.sha256(normalise_text(text).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def asker_key(platform: str, workspace: str | None, user_id: str | None) -> str | None:
    """A pseudonym of one person, enough to count how many people asked."""
    if not user_id:
        return None
    return hashlib.sha256(f"{platform}\x1f{workspace or ''}\x1f{user_id}".encode("utf-8", "replace")).hexdigest()[:16]


def _storable(text: str) -> str:
    """Text both SQLite and PostgreSQL take: no NUL, no lone surrogate."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def pack_vector(vector: np.ndarray) -> bytes:
    """A question's vector as stored: float16 (half the bytes; the review's
    clustering needs no more precision)."""
    return np.asarray(vector, dtype="<f2").tobytes()


def unpack_vector(blob: bytes) -> np.ndarray:
    """A stored vector back as float32."""
    return np.frombuffer(blob, dtype="<f2").astype(np.float32)


def question_row(answered: Answered, *, record_text: bool = True, index_name: str | None = None,
                 model: str | None = None, vector: np.ndarray | None = None) -> dict[str, Any] | None:
    """The ``questions`` row that records ``answered`` (see :func:`record_question`), or None
    when there was nothing asked."""
    if answered.outcome == EMPTY:
        return None
    answer, asked = answered.answer, answered.asked
    best = answer.best if answer is not None else None
    closest = ([[m.faq_id, round(m.score, 4)] for m in answer.matches[:CLOSEST_KEPT]]
               if answer is not None else [])
    return {
        "key": asked.key, "answer_id": answered.answer_id, "asked_at": _utcnow(), "platform": asked.platform[:32],
        "workspace": _storable(asked.workspace)[:64] if asked.workspace else None,
        "enterprise": _storable(asked.enterprise)[:64] if asked.enterprise else None,
        "channel_kind": asked.channel_kind[:16],
        "asker": asker_key(asked.platform, asked.workspace, asked.user_id),
        "text": _storable(answered.question) if record_text else None, "outcome": answered.outcome[:16],
        "faq_id": best.faq_id if best is not None else None,
        "confidence": answer.confidence if answer is not None and best is not None else None,
        "closest": json.dumps(closest) if closest else None, "index_name": index_name,
        "model": model if record_text and vector is not None else None,
        "vector": pack_vector(vector) if record_text and vector is not None else None,
    }


def record_question(store: Store, answered: Answered, *, record_text: bool = True,
                    index_name: str | None = None, model: str | None = None,
                    vector: np.ndarray | None = None) -> bool:
    """Write one question and its outcome (and ``vector``, its embedding
    under ``model``, kept only with the text); False when it was recorded
    before (the same intake key: a retry) or there was nothing asked."""
    row = question_row(answered, record_text=record_text, index_name=index_name, model=model, vector=vector)
    return row is not None and _insert_question(store, row)


def _insert_question(store: Store, row: dict[str, Any]) -> bool:
    try:
        with store.transaction() as connection:
            connection.execute(insert(_QUESTIONS), row)  # Core, not the ORM: half the cost
        return True
    except IntegrityError:
        log.info("question %s was recorded before; not recording it again", row["key"])
        return False


def record_questions(store: Store, rows: Sequence[dict[str, Any]]) -> None:
    """Write ``rows`` (from :func:`question_row`) in one transaction; when one
    was recorded before (a retry), each is written on its own instead, so the
    others are kept."""
    try:
        with store.transaction() as connection:
            connection.execute(insert(_QUESTIONS), list(rows))
    except IntegrityError:
        for row in rows:
            _insert_question(store, row)


def record_pick(store: Store, *, key: str, answer_id: str, faq_id: str,
                shown_answer_id: str | None = None, tenant: Tenant | None = None) -> bool:
    """Write that the asker of ``answer_id`` chose ``faq_id`` from "Did you
    mean…?"; ``key`` is the click's intake key (a retried click counts once),
    ``tenant`` where the click came from (only that tenant's question gets the label)."""
    try:
        with store.transaction() as connection:
            connection.execute(insert(PickRow).values(  # cut to the columns: a button value is the sender's
                key=key[:255], answer_id=_storable(answer_id)[:64], faq_id=_storable(faq_id)[:128],
                shown_answer_id=shown_answer_id[:64] if shown_answer_id else None, picked_at=_utcnow(),
                **tenant_values(tenant)))
        return True
    except IntegrityError:
        return False


def forget_old_questions(store: Store, retention_days: float = DEFAULT_RETENTION_DAYS) -> int:
    """Blank the text, vector and asker of questions older than
    ``retention_days`` (the outcome, FAQ and confidence stay, so rates and
    digests hold)."""
    cutoff = _utcnow() - timedelta(days=retention_days)
    with store.transaction() as connection:
        result = connection.execute(
            update(QuestionRow)
            .where(QuestionRow.asked_at < cutoff,
                   QuestionRow.text.is_not(None) | QuestionRow.asker.is_not(None) | QuestionRow.vector.is_not(None))
            .values(text=None, asker=None, vector=None, model=None))
        return int(result.rowcount or 0)


def recorded_questions(store: Store, *, since: datetime | None = None, outcomes: Sequence[str] | None = None,
                       scope: Scope | None = None) -> list[QuestionRow]:
    """Recorded questions, oldest first: all, or those asked after ``since``,
    with one of ``outcomes``, within ``scope`` (None: every tenant's)."""
    query = select(QuestionRow).order_by(QuestionRow.id)
    if scope is not None:
        query = query.where(scope.where(QuestionRow))
    if since is not None:
        query = query.where(QuestionRow.asked_at >= since)
    if outcomes is not None:
        query = query.where(QuestionRow.outcome.in_(list(outcomes)))
    with Session(store.engine) as session:
        return list(session.scalars(query))


def labelled_questions(store: Store, scopes: Sequence[Scope] | None = None) -> list[LabelledQuery]:
    """Questions whose right FAQ people told us, for gating a new FAQ revision
    (``faq-bot publish``): each distinct question voted helpful, with the FAQ it
    was answered with, and each recorded question whose asker picked an FAQ
    from "Did you mean…?", with that FAQ. Text already forgotten (retention)
    or never recorded (``FAQ_RECORD_TEXT=false``) is no label. Only the rows
    of ``scopes`` (the tenants that use the index; None: every tenant's), and a
    pick labels only a question of its own tenant. The one place labels are read."""
    voted = (select(Feedback.query.label("text"), Feedback.faq_id.label("faq_id"))
             .where(Feedback.vote == "helpful", Feedback.query != "", Feedback.faq_id.is_not(None)))
    picked = (select(QuestionRow.text.label("text"), PickRow.faq_id.label("faq_id"))
              .join(QuestionRow, (QuestionRow.answer_id == PickRow.answer_id)
                    & QuestionRow.workspace.is_not_distinct_from(PickRow.workspace))
              .where(QuestionRow.text.is_not(None), QuestionRow.text != ""))
    if scopes is not None:
        voted = voted.where(or_(false(), *(scope.where(Feedback) for scope in scopes)))
        picked = picked.where(or_(false(), *(scope.where(PickRow) for scope in scopes)))
    with Session(store.engine) as session:
        rows: list[Any] = list(session.execute(union(voted, picked)).all())
    labels = {(" ".join(str(text).split()), str(faq_id)) for text, faq_id in rows if str(text).strip()}
    return [LabelledQuery(text, faq_id) for text, faq_id in sorted(labels)]


def picks(store: Store) -> list[PickRow]:
    """Every recorded "Did you mean…?" pick, oldest first."""
    with Session(store.engine) as session:
        return list(session.scalars(select(PickRow).order_by(PickRow.id)))


def recorder(store: Store, settings: BotSettings, engine: FAQEngine | ServingEngine | None = None) -> AnswerObserver:
    """The observer that records each question the Answerer answers into
    ``store`` (text and vector only if ``settings.record_text``; the vector and
    index name from ``engine``, which just embedded the question). Attach it
    with ``Answerer(engine, observers=[recorder(store, settings, engine)])``; a
    failure to record is logged by the Answerer and never costs the reply.
    The index name is read at each question: a reload may have changed it."""
    serving = as_serving(engine) if engine is not None else None
    # the questions answered together are recorded together: one transaction, not one each
    grouped: GroupedWrites[dict[str, Any]] = GroupedWrites(lambda rows: record_questions(store, rows))

    def record(answered: Answered) -> None:
        # one engine for the name, the model and the vector, even if a reload swaps it meanwhile
        current = answered.engine or (serving.current if serving is not None else None)  # routed: its own
        index_name = current.info.display_name if current is not None else None
        model = current.index.meta.model_id if current is not None else None
        vector = None
        if current is not None and settings.record_text and answered.answer is not None:
            vector = current.recent_vector(answered.answer.query)
        row = question_row(answered, record_text=settings.record_text, index_name=index_name, model=model,
                           vector=vector)
        if row is not None:
            grouped.write(row)

    return record
