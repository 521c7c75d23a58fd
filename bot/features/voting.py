"""A Helpful / Not helpful click, whatever the platform: record the vote (one
per person per answer, changeable) and lay the answer out again with the
thanks and the tally, or with a note that the vote could not be recorded.
The platforms only read who clicked where and deliver the returned content."""

from __future__ import annotations

import logging

from bot import messages
from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import ReplyContent, answer_reply, notice_reply
from bot.ops.metrics import Metrics
from bot.store.database import Store, Vote
from bot.tenancy import Tenant
from faq_core.index import FAQIndex

log = logging.getLogger(__name__)


def take_vote(store: Store, index: FAQIndex, ref: AnswerRef, *, user: str, channel_id: str | None, vote: str,
              platform: str, shareable: bool, metrics: Metrics | None = None,
              tenant: Tenant | None = None) -> ReplyContent:
    """Record ``user``'s ``vote`` ("helpful" or "not_helpful") on the answer
    ``ref`` names and return that answer's reply with the outcome as notes
    (a notice alone when its FAQ has left ``index``), for ``tenant`` (where the
    click came from: the tally is of its votes only). A store failure is
    logged and told, never raised: the click always gets a reply."""
    try:
        result = store.record_vote(Vote(answer_id=ref.answer_id, user_id=user, query=ref.query, faq_id=ref.faq_id,
                                        score=ref.score, channel_id=channel_id, vote=vote, tenant=tenant))
    except Exception:
        log.exception("recording a vote failed")
        notes: tuple[str, ...] = (messages.VOTE_FAILED,)
    else:
        if metrics is not None:
            metrics.vote(platform, vote)
        thanks = (messages.VOTE_CHANGED.format(user=user, vote_label=messages.VOTE_LABELS[vote])
                  if result.changed else messages.VOTE_RECORDED[vote].format(user=user))
        notes = (thanks, messages.VOTE_TALLY.format(helpful=result.helpful, not_helpful=result.not_helpful))
    answer = ref.to_answer(index)
    if answer is None:
        return notice_reply(" ".join(notes))
    return answer_reply(answer, ref, shareable=shareable, notes=notes)
