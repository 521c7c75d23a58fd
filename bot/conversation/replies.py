"""What a reply says, as plain data, built once for every platform.

The engine's :class:`~faq_core.answer.Answer` decides what the bot shows; this
module turns it into a :class:`ReplyContent`: which FAQ answers (question,
answer text, source link, readable score, details line), up to two other close
FAQs, "Did you mean…?" suggestions or the two near-tied contenders (each with
the :class:`~bot.conversation.payloads.AnswerRef` value its button carries), the
Helpful / Not helpful and "Share in channel" buttons, notes under them (vote
tallies), usage help and one-sentence notices. Each platform renders it in its
own markup (Block Kit in :mod:`bot.slack.blocks`, embeds and components in
:mod:`bot.discord.render`), so both show the same content and the same honest
score. The texts here are raw (unescaped, unshortened): escaping and length
limits belong to the renderer, which knows its platform's markup and limits.

The layout rule: a match below the threshold is never presented as the
answer, only offered as a "Did you mean…?" suggestion, and only if its score
reaches the suggestion floor; near-tied top two FAQs are shown together.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot import messages
from bot.conversation.payloads import AnswerRef
from faq_core.answer import Answer, Match
from faq_core.engine import MAX_QUERY_CHARS, IndexInfo

EXAMPLE_CHARS = 120


class Kind(StrEnum):
    """What sort of reply it is; a renderer lays each one out differently."""

    ANSWER = "answer"  # one FAQ answers (possibly picked by the asker)
    NO_MATCH = "no_match"  # no FAQ is close enough; maybe "Did you mean…?"
    AMBIGUOUS = "ambiguous"  # two near-tied FAQs, pick one
    USAGE = "usage"  # how to ask
    NOTICE = "notice"  # one sentence: an error or a notice


@dataclass(frozen=True)
class ShownFAQ:
    """One FAQ as shown: its question, answer, source and readable score."""

    faq_id: str
    question: str
    answer: str
    url: str | None
    score: str  # "73% confidence": the one number shown beside an FAQ
    details: str = ""  # the details line (confidence, threshold, raw cosine), or ""


@dataclass(frozen=True)
class Choice:
    """A button that picks an FAQ: "Did you mean…?" or "This one: …"."""

    faq_id: str
    question: str
    score: str
    value: str  # the encoded AnswerRef the button carries (picking this FAQ)


@dataclass(frozen=True)
class Feedback:
    """The Helpful / Not helpful buttons, and "Share in channel" when shareable."""

    value: str  # the encoded AnswerRef both buttons carry
    answer_id: str
    shareable: bool


@dataclass(frozen=True)
class HandOff:
    """The "Ask a person" button of an unanswered reply: clicking it passes
    the question to ``target`` (a platform id: a Slack channel ``C…`` or
    user group ``S…``), once."""

    value: str  # the encoded AnswerRef the button carries
    target: str


@dataclass(frozen=True)
class HandOffSettings:
    """Where an unanswered question may go: ``target`` gets an "Ask a person"
    button; without one, ``text`` (if set) says where to ask instead of the
    default "ask a colleague"."""

    target: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class ReplyContent:
    """A reply, platform-neutral. ``text`` is the plain-text version (the
    notification fallback, and the whole reply for notices)."""

    kind: Kind
    text: str
    answer_id: str = ""
    faqs: tuple[ShownFAQ, ...] = ()  # ANSWER: the answer; AMBIGUOUS: the two contenders
    query: str = ""  # what was asked, as the engine read it
    truncated_at: int | None = None  # the engine read only this many characters of it
    others: tuple[ShownFAQ, ...] = ()  # up to two other close FAQs under an answer
    choices: tuple[Choice, ...] = ()  # "Did you mean…?" suggestions or the contenders
    details: str = ""  # AMBIGUOUS: the details line of the two
    feedback: Feedback | None = None
    notes: tuple[str, ...] = ()  # lines under the buttons (vote tallies)
    picked: bool = False  # the asker chose this FAQ from suggestions
    shared_by: str | None = None  # user id of whoever shared it in the channel
    no_match: str = ""  # NO_MATCH: the sentence saying why there is no answer
    bot_user_id: str | None = None  # USAGE: how to mention the bot
    example: str = ""  # USAGE: an example question from the served index
    handoff: HandOff | None = None  # NO_MATCH: the "Ask a person" button
    ask_instead: str = ""  # NO_MATCH without a hand-off: the configured "where to ask" text


def score_label(match: Match) -> str:
    """The one number shown beside an FAQ, worded as the CLI words it: ``73% confidence``."""
    return match.score_label


def details_label(answer: Answer, match: Match) -> str:
    """The details line: confidence, threshold and its source, raw cosine."""
    return messages.ANSWER_DETAILS.format(
        confidence=f"{answer.confidence:.2f}", threshold=f"{answer.threshold:.2f}",
        source=f", {answer.threshold_source}" if answer.threshold_source else "",
        cosine="n/a" if match.cosine is None else f"{match.cosine:.3f}",
    )


def shown(match: Match, details: str = "") -> ShownFAQ:
    """``match`` as shown beside a reply."""
    return ShownFAQ(faq_id=match.faq_id, question=match.question, answer=match.answer or messages.ANSWER_NO_TEXT,
                    url=match.url or None, score=score_label(match), details=details)


def _fallback(match: Match) -> str:
    text = messages.ANSWER_FALLBACK.format(
        question=match.question, answer=match.answer or messages.ANSWER_NO_TEXT, score=score_label(match)
    )
    return f"{text}\n{match.url}" if match.url else text


def _truncated_at(answer: Answer) -> int | None:
    return MAX_QUERY_CHARS if answer.truncated else None


def _choice(match: Match, ref: AnswerRef) -> Choice:
    return Choice(faq_id=match.faq_id, question=match.question, score=score_label(match),
                  value=ref.picking(match.faq_id).encode())


def answer_reply(
    answer: Answer,
    ref: AnswerRef,
    *,
    shareable: bool = False,
    notes: tuple[str, ...] = (),
    shared_by: str | None = None,
    handoff: HandOffSettings | None = None,
) -> ReplyContent:
    """The reply to a question: the answer when the engine is confident, else
    the plain "no good answer" with "Did you mean…?" choices, or the two
    near-tied FAQs to pick from.

    ``shareable`` adds "Share in channel" (ephemeral answers); ``notes`` are
    feedback lines shown under the buttons after votes; ``handoff`` says
    where an unanswered question may go (an "Ask a person" button, or text).
    """
    best = answer.best
    if best is None:
        return usage_reply(None)  # unreachable: an index holds at least one FAQ, so there is a best match
    if answer.ambiguous and not ref.picked:
        return _ambiguous_reply(answer, ref)
    if not (answer.answered or ref.picked):
        return _no_match_reply(answer, ref, handoff or HandOffSettings())
    return ReplyContent(
        kind=Kind.ANSWER, text=_fallback(best), answer_id=ref.answer_id,
        faqs=(shown(best, "" if ref.picked else details_label(answer, best)),),
        others=() if ref.picked else tuple(shown(m) for m in answer.matches[1:3]),
        feedback=Feedback(value=ref.encode(), answer_id=ref.answer_id, shareable=shareable),
        notes=notes, picked=ref.picked, shared_by=shared_by,
        query=answer.query, truncated_at=_truncated_at(answer),
    )


def _no_match_reply(answer: Answer, ref: AnswerRef, handoff: HandOffSettings) -> ReplyContent:
    suggestions = answer.suggestions()
    fallback = " ".join([messages.NO_MATCH_FALLBACK, *(f"{m.question}?" for m in suggestions)])
    return ReplyContent(
        kind=Kind.NO_MATCH, text=fallback.replace("??", "?"), answer_id=ref.answer_id,
        no_match=messages.NO_MATCH.format(confidence=f"{answer.confidence:.2f}",
                                          threshold=f"{answer.threshold:.2f}"),
        choices=tuple(_choice(m, ref) for m in suggestions),
        query=answer.query, truncated_at=_truncated_at(answer),
        handoff=HandOff(value=ref.encode(), target=handoff.target) if handoff.target else None,
        ask_instead="" if handoff.target else (handoff.text or ""),
    )


def _ambiguous_reply(answer: Answer, ref: AnswerRef) -> ReplyContent:
    first, second = answer.contenders
    return ReplyContent(
        kind=Kind.AMBIGUOUS, answer_id=ref.answer_id,
        text=messages.AMBIGUOUS_FALLBACK.format(first=first.question, second=second.question),
        faqs=(shown(first), shown(second)), details=details_label(answer, first),
        choices=(_choice(first, ref), _choice(second, ref)),
        query=answer.query, truncated_at=_truncated_at(answer),
    )


def example_question(info: IndexInfo | None) -> str:
    """A question of the served index for "ask me, e.g. ..." help, on one
    line, without backticks (they would end a code span), or "" without one."""
    return " ".join((info.example if info else "").replace("`", "'").split())


def usage_reply(bot_user_id: str | None, info: IndexInfo | None = None) -> ReplyContent:
    """How to ask: for an empty question or ``/faq`` without text, with an
    example question from the served index (``info``)."""
    example = example_question(info)
    text = messages.USAGE_FALLBACK.format(example=example or messages.EXAMPLE_NEUTRAL)
    return ReplyContent(kind=Kind.USAGE, text=text, bot_user_id=bot_user_id, example=example)


def notice_reply(text: str) -> ReplyContent:
    """A one-sentence message (errors, notices)."""
    return ReplyContent(kind=Kind.NOTICE, text=text)
