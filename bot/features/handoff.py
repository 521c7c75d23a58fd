"""Handing a question the bot could not answer to a person, once.

An unanswered reply carries an "Ask a person" button (:class:`bot.conversation.replies.HandOff`)
when ``FAQ_HANDOFF`` names where questions go. The first click on it claims
the question here: one ``handoffs`` row per answer id (a unique key), holding
the intake key of the click that claimed it. So a second click, by the asker
or anyone else, is told where the question already went; the same click
delivered again, or worked again after a crash, is the claiming work and goes
on (the platform's post looks for its earlier post before posting again).

The flow is written once, here (:func:`hand_off`): claim, tell a later click
where the question already went, look the question up (its text and where it
was asked, from its ``questions`` row), post it, release the claim when the
platform refuses the post for good, mark where it was posted, tell the
clicker. A platform supplies a :class:`HandOffClick` for each click: how it
names the target, how it posts the question there (looking for its earlier
post when the work is retried) and how it tells the clicker privately
(``bot/slack/handoff.py``, ``bot/discord/handoff.py``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import DateTime, Integer, String, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from bot import messages
from bot.conversation.payloads import AnswerRef
from bot.features.recording import QuestionRow
from bot.store.database import Base, Store, TenantColumns
from bot.store.intake import Work
from bot.store.scoping import only, tenant_of, tenant_values
from bot.tenancy import Tenant

log = logging.getLogger(__name__)


class HandoffRow(TenantColumns, Base):
    """One question passed to a person: who claimed it, where it went."""

    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(String(64), unique=True)
    work_key: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    posted_ts: Mapped[str | None] = mapped_column(String(32), nullable=True)


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a hand-off: ``mine`` when this work is the one
    that passes the question on (first click, or its retry); otherwise the
    question already went to ``target``."""

    mine: bool
    target: str
    requested_at: datetime
    posted_ts: str | None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def claim_handoff(store: Store, *, answer_id: str, work_key: str, target: str,
                  requested_by: str | None, tenant: Tenant | None = None) -> Claim | None:
    """Claim the hand-off of ``answer_id`` for the work ``work_key`` of
    ``tenant``; None when another tenant's question holds that answer id (a
    forged click: told nothing of where that one went)."""
    now = datetime.now(UTC)
    try:
        with store.transaction() as connection:
            connection.execute(insert(HandoffRow).values(
                answer_id=answer_id, work_key=work_key, target=target, requested_by=requested_by,
                requested_at=now, **tenant_values(tenant)))
        return Claim(mine=True, target=target, requested_at=now, posted_ts=None)
    except IntegrityError:
        pass
    with store.engine.connect() as connection:
        row = connection.execute(select(HandoffRow).where(HandoffRow.answer_id == answer_id)).one()
    if tenant_of(row) != tenant:
        return None
    return Claim(mine=row.work_key == work_key, target=row.target, requested_at=_aware(row.requested_at),
                 posted_ts=row.posted_ts)


def release_handoff(store: Store, answer_id: str, work_key: str) -> None:
    """Drop this work's claim (its post failed for good), so a later click may try again."""
    with store.transaction() as connection:
        connection.execute(delete(HandoffRow).where(HandoffRow.answer_id == answer_id,
                                                    HandoffRow.work_key == work_key))


def mark_posted(store: Store, answer_id: str, ts: str | None) -> None:
    """Note where the hand-off was posted (the message ts)."""
    with store.transaction() as connection:
        connection.execute(update(HandoffRow).where(HandoffRow.answer_id == answer_id).values(posted_ts=ts))


def handoffs(store: Store) -> list[HandoffRow]:
    """Every hand-off, oldest first (reports and tests)."""
    with store.engine.connect() as connection:
        return list(connection.execute(select(HandoffRow).order_by(HandoffRow.id)).all())  # type: ignore[arg-type]


@dataclass(frozen=True)
class AskedQuestion:
    """What the store knows of the question behind an answer id: its text
    (None when not recorded) and the intake key of where it was asked."""

    text: str | None
    key: str | None


def question_of(store: Store, answer_id: str, tenant: Tenant | None = None) -> AskedQuestion:
    """The recorded question of ``tenant`` an answer id belongs to (empty when
    not recorded, or recorded for another tenant)."""
    with store.engine.connect() as connection:
        row = connection.execute(select(QuestionRow.text, QuestionRow.key)
                                 .where(QuestionRow.answer_id == answer_id, only(tenant).where(QuestionRow))
                                 .limit(1)).first()
    return AskedQuestion(text=row.text, key=row.key) if row is not None else AskedQuestion(None, None)


class HandOffRefused(Exception):
    """The platform refused the post for good (a retry cannot change it): the
    claim is released so a later click may try again, and the clicker is told
    ``reply``. With ``failed``, the work itself failed too (that error is
    raised for the workers to set it aside)."""

    def __init__(self, reply: str, *, failed: BaseException | None = None) -> None:
        super().__init__(reply)
        self.reply = reply
        self.failed = failed


class HandOffClick(Protocol):
    """One click on "Ask a person", as the platform that received it acts on it."""

    def where(self, target: str) -> str:
        """``target`` as people read it in the platform's markup (a channel or group mention)."""

    def post(self, target: str, question: str, asked_key: str | None) -> str | None:
        """Post ``question`` (asked where the intake key ``asked_key`` says,
        None when unknown) for a person at ``target``; return the post's id.
        A retried click must find its earlier post instead of posting twice.
        Raises :class:`HandOffRefused` when the platform refuses it for good;
        any other failure is the workers' to retry."""

    def tell(self, text: str) -> None:
        """Tell the clicker ``text``, privately where the platform can."""


def hand_off(store: Store, click: HandOffClick, ref: AnswerRef, work: Work, *, target: str | None, setting: str,
             user: str) -> None:
    """Pass the question behind ``ref`` to a person at ``target`` (the value of
    ``setting``; unset: the click is ignored, and logged), once: ``work`` (the
    click's intake row) claims it; any other click is told where it already went."""
    if not target:
        log.warning("an \"Ask a person\" click arrived but %s is not set; ignoring it", setting)
        return
    claim = claim_handoff(store, answer_id=ref.answer_id, work_key=work.key, target=target,
                          requested_by=user or None, tenant=work.tenant)
    if claim is None:
        log.warning("an \"Ask a person\" click of %s named another tenant's answer; ignoring it",
                    work.tenant or "the single-workspace deployment")
        return
    where = click.where(claim.target)
    if not claim.mine:
        click.tell(messages.HANDOFF_ALREADY.format(where=where))
        return
    asked = question_of(store, ref.answer_id, work.tenant)
    try:
        posted = click.post(claim.target, " ".join((asked.text or ref.query).split()), asked.key)
    except HandOffRefused as refused:
        release_handoff(store, ref.answer_id, work.key)
        click.tell(refused.reply)
        if refused.failed is not None:
            raise refused.failed from None
        return
    mark_posted(store, ref.answer_id, posted)
    log.info("handed question %s off to %s", ref.answer_id, claim.target)
    click.tell(messages.HANDOFF_SENT.format(where=where))
