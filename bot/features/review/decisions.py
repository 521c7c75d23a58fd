"""What an editor decided about a cluster of missed questions, kept in the store.

Three decisions, as the support tools that do this well offer them:

- **accept**: the cluster's questions become alternate phrasings of an FAQ
  (the suggested one, or any other);
- **new**: a new FAQ (question, answer, link) whose phrasings are the
  cluster's questions;
- **dismiss**: not worth an FAQ; the questions stay out of later reviews.

Every decision marks the (normalised) texts it covers in ``review_marks``, one
decision per text: a decided question never comes back in a review, however
often it is asked again. ``faq-bot review apply`` turns the accept and new
decisions into a new FAQ source (:mod:`bot.features.review.apply`).

This module is the API a front end calls (the CLI here; the Slack App Home
admin section): pass a :class:`~bot.features.review.clusters.Cluster` from
:func:`~bot.features.review.clusters.review` and who decided. Each call is one
transaction, and a text another decision already covers is refused with
:class:`~faq_core.errors.ReviewError` (two editors deciding at once).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot.errors import ReviewError
from bot.features.recording import text_key
from bot.store.database import Base, Store, TenantColumns
from bot.store.scoping import Scope, only, tenant_values
from bot.tenancy import Tenant
from faq_core.faqs import FIELD_LIMITS, too_long
from faq_core.links import link_problem

ACCEPT, NEW, DISMISS = "accept", "new", "dismiss"
ACTIONS = (ACCEPT, NEW, DISMISS)


class DecisionRow(TenantColumns, Base):
    """One decision on one cluster."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(16))
    cluster: Mapped[str] = mapped_column(String(32))
    faq_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    question: Mapped[str | None] = mapped_column(Text, nullable=True)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class MarkRow(TenantColumns, Base):
    """One question text a decision covers (unique: decided once)."""

    __tablename__ = "review_marks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("review_decisions.id", ondelete="CASCADE"))
    text_key: Mapped[str] = mapped_column(String(64))  # unique per tenant (an index of the migrations)
    text: Mapped[str] = mapped_column(Text)


@dataclass(frozen=True)
class Decision:
    """A stored decision with the question texts it covers."""

    id: int
    decided_at: datetime
    action: str
    cluster: str
    texts: tuple[str, ...]
    faq_id: str | None = None
    question: str | None = None
    answer: str | None = None
    url: str | None = None
    decided_by: str | None = None


def _record(store: Store, *, action: str, cluster: str, texts: Sequence[str], faq_id: str | None = None,
            question: str | None = None, answer: str | None = None, url: str | None = None,
            decided_by: str | None = None, tenant: Tenant | None = None) -> Decision:
    unique = {text_key(t): t for t in texts if t.strip()}
    if not unique:
        raise ReviewError(f"cluster {cluster} has no question text to decide on")
    now = datetime.now(UTC)
    try:
        with store.transaction() as connection:
            taken = set(connection.scalars(select(MarkRow.text_key).where(MarkRow.text_key.in_(list(unique)),
                                                                          only(tenant).where(MarkRow))))
            if taken:
                raise ReviewError(f"cluster {cluster}: {len(taken)} of its questions were decided already "
                                  "(run 'faq-bot review' again for the current clusters)")
            decision_id = connection.execute(insert(DecisionRow).values(
                decided_at=now, action=action, cluster=cluster, faq_id=faq_id, question=question, answer=answer,
                url=url, decided_by=decided_by, **tenant_values(tenant)).returning(DecisionRow.id)).scalar_one()
            connection.execute(insert(MarkRow), [{"decision_id": decision_id, "text_key": key, "text": text,
                                                  **tenant_values(tenant)} for key, text in unique.items()])
    except IntegrityError:
        raise ReviewError(f"cluster {cluster} was decided by someone else just now") from None
    return Decision(id=decision_id, decided_at=now, action=action, cluster=cluster, texts=tuple(unique.values()),
                    faq_id=faq_id, question=question, answer=answer, url=url, decided_by=decided_by)


def accept(store: Store, cluster: str, texts: Sequence[str], faq_id: str, *,
           decided_by: str | None = None, tenant: Tenant | None = None) -> Decision:
    """Add ``texts`` (a cluster's questions) as alternate phrasings of ``faq_id``,
    decided for ``tenant`` (whose later reviews it covers, and no one else's)."""
    if not faq_id.strip():
        raise ReviewError("accepting needs the FAQ the questions are phrasings of")
    return _record(store, action=ACCEPT, cluster=cluster, texts=texts, faq_id=faq_id.strip(), decided_by=decided_by,
                   tenant=tenant)


def new_faq(store: Store, cluster: str, texts: Sequence[str], *, question: str, answer: str,
            url: str | None = None, faq_id: str | None = None, decided_by: str | None = None,
            tenant: Tenant | None = None) -> Decision:
    """Draft a new FAQ (``question``, ``answer``, ``url``) whose phrasings are ``texts``."""
    if not question.strip() or not answer.strip():
        raise ReviewError("a new FAQ needs both a question and an answer")
    for what, text in (("question", question), ("answer", answer), ("url", url or "")):
        if problem := too_long(f"the {what}", text.strip(), FIELD_LIMITS[what]):
            raise ReviewError(problem)  # what an FAQ source may hold (faq_core.faqs), or apply would fail
    if url is not None and url.strip() and (problem := link_problem(url.strip())):
        raise ReviewError(f"the link {url.strip()[:80]!r} is not usable: {problem}")
    return _record(store, action=NEW, cluster=cluster, texts=texts, question=question.strip(),
                   answer=answer.strip(), url=(url or "").strip() or None, faq_id=faq_id, decided_by=decided_by,
                   tenant=tenant)


def dismiss(store: Store, cluster: str, texts: Sequence[str], *, decided_by: str | None = None,
            tenant: Tenant | None = None) -> Decision:
    """Keep ``texts`` out of every later review of ``tenant`` (not worth an FAQ)."""
    return _record(store, action=DISMISS, cluster=cluster, texts=texts, decided_by=decided_by, tenant=tenant)


def decided_keys(store: Store, scope: Scope | None = None) -> set[str]:
    """The text keys (:func:`~bot.features.recording.text_key`) some decision
    within ``scope`` (None: any tenant's) covers."""
    query = select(MarkRow.text_key)
    if scope is not None:
        query = query.where(scope.where(MarkRow))
    with store.engine.connect() as connection:
        return set(connection.scalars(query))


def decisions(store: Store, actions: Sequence[str] = ACTIONS, scope: Scope | None = None) -> list[Decision]:
    """The stored decisions with ``actions`` within ``scope`` (None: every
    tenant's), oldest first, with their texts."""
    query = select(DecisionRow).where(DecisionRow.action.in_(list(actions))).order_by(DecisionRow.id)
    if scope is not None:
        query = query.where(scope.where(DecisionRow))
    with store.engine.connect() as connection:
        rows = connection.execute(query).all()
        wanted = [r.id for r in rows]
        marks = connection.execute(select(MarkRow.decision_id, MarkRow.text)
                                   .where(MarkRow.decision_id.in_(wanted)).order_by(MarkRow.id)).all()
    texts: dict[int, list[str]] = {}
    for decision_id, text in marks:
        texts.setdefault(decision_id, []).append(text)
    return [Decision(id=r.id, decided_at=r.decided_at, action=r.action, cluster=r.cluster,
                     texts=tuple(texts.get(r.id, ())), faq_id=r.faq_id, question=r.question, answer=r.answer,
                     url=r.url, decided_by=r.decided_by) for r in rows]
