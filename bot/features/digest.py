"""The review digest: what the bot saw in a period, and what it missed.

Every ``DIGEST_EVERY_DAYS`` (7: weekly, periods starting on Mondays 00:00
UTC) the bot posts to ``DIGEST_CHANNEL``: questions seen, the answered,
abstained and helpful rates with their change from the period before, the
top unanswered clusters (the review loop's clustering,
:func:`bot.features.review.clusters.review`) and the FAQs most often voted not
helpful. ``faq-bot digest`` prints the same content.

Exactly one replica sends each period's digest: it is elected through the
store by inserting the period's ``digests`` row (a unique key; the others
find it taken). A replica that claimed a period and died before posting is
taken over once :data:`CLAIM_LEASE` has passed (the post is tagged with the
period, so the taker-over finds a post that did get through).

Platform-neutral: :func:`build_digest` computes, :func:`digest_content` words
it once as lines whose emphasis is marked but not drawn; :func:`digest_text`
prints them as plain text (``faq-bot digest``), and a platform renders them in
its own markup (Slack: :mod:`bot.slack.digest`) and posts them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from string import Formatter

from sqlalchemy import DateTime, Integer, String, func, insert, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot import messages
from bot.conversation.text import shorten
from bot.features.recording import QuestionRow
from bot.features.review.clusters import ExampleQuestion, review
from bot.store.database import Base, Feedback, Store, TenantColumns
from bot.store.scoping import Scope, only, tenant_values
from bot.tenancy import Tenant
from faq_core.answer import Outcome
from faq_core.engine import FAQEngine
from faq_core.wording import counted, duration

log = logging.getLogger(__name__)

# Periods are counted from a Monday, so weekly digests cover Monday to Monday (UTC).
EPOCH = datetime(1970, 1, 5, tzinfo=UTC)
TOP_CLUSTERS = 5
TOP_UNHELPFUL = 5
CLAIM_LEASE = timedelta(minutes=10)
CLUSTER_TEXT_CHARS = 120


class DigestRow(TenantColumns, Base):
    """One digest period, claimed by the replica that sends it."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(32))  # unique per tenant (an index of the migrations)
    channel: Mapped[str] = mapped_column(String(32))
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ts: Mapped[str | None] = mapped_column(String(32), nullable=True)


@dataclass(frozen=True)
class Period:
    """A digest period ``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The period's unique name (its start, to the minute)."""
        return self.start.strftime("%Y-%m-%dT%H:%M")

    def previous(self) -> Period:
        """The period of the same length just before."""
        return Period(self.start - (self.end - self.start), self.start)


def last_period(now: datetime, every_days: float) -> Period:
    """The latest period that has ended by ``now``."""
    length = timedelta(days=every_days)
    ended = int((now - EPOCH) / length)
    end = EPOCH + ended * length
    return Period(end - length, end)


@dataclass(frozen=True)
class Rates:
    """What happened to the questions of one period."""

    seen: int
    answered: int
    abstained: int
    helpful: int
    votes: int

    def share(self, part: int, whole: int) -> float | None:
        """``part / whole``, or None when there is nothing to divide."""
        return part / whole if whole else None

    @property
    def answered_rate(self) -> float | None:
        """Answered questions / questions seen."""
        return self.share(self.answered, self.seen)

    @property
    def abstained_rate(self) -> float | None:
        """Questions without a good answer (no match or a near-tie) / questions seen."""
        return self.share(self.abstained, self.seen)

    @property
    def helpful_rate(self) -> float | None:
        """Helpful votes / votes."""
        return self.share(self.helpful, self.votes)


@dataclass(frozen=True)
class Digest:
    """Everything a digest says."""

    period: Period
    now: Rates
    before: Rates
    clusters: tuple[ExampleQuestion, ...]  # each top cluster by its most asked question
    unhelpful: tuple[tuple[str, int], ...]  # (FAQ question or id, not-helpful votes)


def rates(store: Store, period: Period, scope: Scope | None = None) -> Rates:
    """The counts of ``period``'s questions and votes within ``scope`` (None: every tenant's)."""
    asked = [QuestionRow.asked_at >= period.start, QuestionRow.asked_at < period.end]
    voted = [Feedback.voted_at >= period.start, Feedback.voted_at < period.end]
    if scope is not None:
        asked.append(scope.where(QuestionRow))
        voted.append(scope.where(Feedback))
    with store.engine.connect() as connection:
        outcomes = dict(connection.execute(
            select(QuestionRow.outcome, func.count()).where(*asked).group_by(QuestionRow.outcome)).all())
        votes = dict(connection.execute(
            select(Feedback.vote, func.count()).where(*voted).group_by(Feedback.vote)).all())
    counts = Counter({str(k): int(v) for k, v in outcomes.items()})
    return Rates(seen=sum(counts.values()), answered=counts[Outcome.ANSWERED.value],
                 abstained=counts[Outcome.NO_MATCH.value] + counts[Outcome.AMBIGUOUS.value],
                 helpful=int(votes.get("helpful", 0)), votes=sum(int(v) for v in votes.values()))


def unhelpful_faqs(store: Store, period: Period, engine: FAQEngine | None, limit: int = TOP_UNHELPFUL,
                   scope: Scope | None = None) -> tuple[tuple[str, int], ...]:
    """The FAQs most often voted not helpful in ``period`` within ``scope``, by their question when the index
    knows them."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Feedback.faq_id, func.count().label("n"))
            .where(Feedback.vote == "not_helpful", Feedback.voted_at >= period.start, Feedback.voted_at < period.end,
                   Feedback.faq_id.is_not(None), scope.where(Feedback) if scope is not None else true())
            .group_by(Feedback.faq_id).order_by(func.count().desc(), Feedback.faq_id).limit(limit)).all()
    found = []
    for faq_id, count in rows:
        faq = engine.index.faq_by_id(str(faq_id)) if engine is not None else None
        found.append((faq.question if faq is not None else str(faq_id), int(count)))
    return tuple(found)


def top_clusters(store: Store, engine: FAQEngine | None, period: Period, limit: int = TOP_CLUSTERS,
                 scope: Scope | None = None) -> tuple[ExampleQuestion, ...]:
    """The top unanswered clusters of ``period`` not decided yet, each by its
    most asked question (none without an engine to cluster with)."""
    if engine is None:
        return ()
    days = (period.end - period.start) / timedelta(days=1)
    clusters = review(store, engine, days=days, now=period.end, scope=scope)
    return tuple(ExampleQuestion(text=c.texts[0], asked=c.asked, people=c.people) for c in clusters[:limit])


def build_digest(store: Store, engine: FAQEngine | None, period: Period, scope: Scope | None = None) -> Digest:
    """The digest of ``period`` (compared with the one before) of ``scope``'s
    questions and votes (one tenant's; None: every tenant's)."""
    return Digest(period=period, now=rates(store, period, scope), before=rates(store, period.previous(), scope),
                  clusters=top_clusters(store, engine, period, scope=scope),
                  unhelpful=unhelpful_faqs(store, period, engine, scope=scope))


@dataclass(frozen=True)
class Span:
    """A piece of a digest line. ``strong`` is emphasised where the platform
    can (Slack's bold), ``code`` is a command to type; ``ours`` is the
    digest's own wording, never escaped, while any other span is a value
    that may hold anyone's text."""

    text: str
    strong: bool = False
    code: bool = False
    ours: bool = False


@dataclass(frozen=True)
class Line:
    """One line of the digest; a ``heading`` (the title, a section's name) is
    emphasised as a whole where the platform can."""

    spans: tuple[Span, ...]
    heading: bool = False

    @property
    def plain(self) -> str:
        """The line as plain text (a terminal, a log)."""
        return "".join(span.text for span in self.spans)


Paragraph = tuple[Line, ...]


def fill(template: str, *, strong: tuple[str, ...] = (), code: tuple[str, ...] = (), heading: bool = False,
         **values: object) -> Line:
    """``template`` (a :mod:`bot.messages` text) filled with ``values`` as one
    :class:`Line`: its literal text ``ours``, the fields named in ``strong``
    emphasised and those in ``code`` marked as commands."""
    spans = []
    for literal, name, spec, _ in Formatter().parse(template):
        if literal:
            spans.append(Span(literal, ours=True))
        if name is not None:
            spans.append(Span(format(values[name], spec or ""), strong=name in strong, code=name in code,
                              ours=name in code))
    return Line(tuple(spans), heading=heading)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.0%}"


def _change(now: float | None, before: float | None, length: str, *, points: bool = True) -> str:
    """`` (+5 points vs the 7 days before)``, or "" when there is nothing to compare with."""
    if now is None or before is None:
        return ""
    delta = (now - before) * (100 if points else 1)
    value = counted(round(abs(delta)), "point") if points else f"{abs(delta):.0f}"
    return " (" + messages.DIGEST_CHANGE.format(sign="+" if delta >= 0 else "−", value=value, length=length) + ")"


def digest_content(digest: Digest) -> tuple[Paragraph, ...]:
    """The digest as platform-neutral paragraphs of lines: the one place it is
    worded; :func:`digest_text` prints it, a platform renders it in its markup.
    Changes are shown only against an earlier period that saw questions."""
    now, before = digest.now, digest.before
    length = duration(digest.period.end - digest.period.start)
    compared = before.seen > 0
    if compared:
        seen_change = _change(float(now.seen), float(before.seen), length, points=False)
    else:
        seen_change = f" ({messages.DIGEST_NO_PREVIOUS})"

    def change(now_rate: float | None, before_rate: float | None) -> str:
        return _change(now_rate, before_rate, length) if compared else ""

    summary = (
        fill(messages.DIGEST_TITLE, heading=True, start=digest.period.start.date(), end=digest.period.end.date()),
        fill(messages.DIGEST_SEEN, strong=("seen",), seen=counted(now.seen, "question"), change=seen_change),
        fill(messages.DIGEST_RATES, strong=("answered", "abstained", "helpful"),
             answered=_percent(now.answered_rate), answered_change=change(now.answered_rate, before.answered_rate),
             abstained=_percent(now.abstained_rate),
             abstained_change=change(now.abstained_rate, before.abstained_rate),
             helpful=_percent(now.helpful_rate), votes=counted(now.votes, "vote"),
             helpful_change=change(now.helpful_rate, before.helpful_rate)),
    )
    clusters = [fill(messages.DIGEST_CLUSTERS_TITLE, heading=True)]
    clusters += ([fill(messages.DIGEST_CLUSTER, rank=rank, text=_short(c.text), asked=c.asked,
                       people=counted(c.people, "person", "people"))
                  for rank, c in enumerate(digest.clusters, start=1)]
                 or [fill(messages.DIGEST_CLUSTERS_NONE)])
    unhelpful = [fill(messages.DIGEST_UNHELPFUL_TITLE, heading=True)]
    unhelpful += ([fill(messages.DIGEST_UNHELPFUL, question=_short(q), count=n) for q, n in digest.unhelpful]
                  or [fill(messages.DIGEST_UNHELPFUL_NONE)])
    footer = (fill(messages.DIGEST_FOOTER, code=("command",), command="faq-bot review"),)
    return summary, tuple(clusters), tuple(unhelpful), footer


def digest_text(digest: Digest) -> str:
    """The digest as plain text, as ``faq-bot digest`` prints it (no markup)."""
    return "\n\n".join("\n".join(line.plain for line in paragraph) for paragraph in digest_content(digest))


def _short(text: str) -> str:
    return shorten(" ".join(text.split()), CLUSTER_TEXT_CHARS)


@dataclass(frozen=True)
class Election:
    """Whether this replica sends a period's digest; ``taken_over``: another
    replica claimed it and did not finish (look for its post first)."""

    won: bool
    taken_over: bool = False


def claim_period(store: Store, period: Period, channel: str, *, now: datetime | None = None,
                 lease: timedelta = CLAIM_LEASE, tenant: Tenant | None = None) -> Election:
    """Elect the sender of ``tenant``'s digest of ``period``: the first replica
    to insert its row wins; a claim unsent after ``lease`` may be taken over."""
    now = now or datetime.now(UTC)
    try:
        with store.transaction() as connection:
            connection.execute(insert(DigestRow).values(period=period.key, channel=channel, claimed_by=store.owner,
                                                        claimed_at=now, **tenant_values(tenant)))
        return Election(won=True)
    except IntegrityError:
        pass
    with store.transaction() as connection:
        taken = connection.execute(
            update(DigestRow).where(DigestRow.period == period.key, DigestRow.sent_at.is_(None),
                                    DigestRow.claimed_at < now - lease, only(tenant).where(DigestRow))
            .values(claimed_by=store.owner, claimed_at=now)).rowcount
    return Election(won=bool(taken), taken_over=bool(taken))


def mark_sent(store: Store, period: Period, ts: str | None, tenant: Tenant | None = None) -> None:
    """Record that ``tenant``'s digest of ``period`` was posted."""
    with store.transaction() as connection:
        connection.execute(update(DigestRow).where(DigestRow.period == period.key, only(tenant).where(DigestRow))
                           .values(sent_at=datetime.now(UTC), ts=ts))


def sent_digests(store: Store) -> list[DigestRow]:
    """Every claimed digest period, oldest first (reports and tests)."""
    with store.engine.connect() as connection:
        return list(connection.execute(select(DigestRow).order_by(DigestRow.id)).all())  # type: ignore[arg-type]
