"""Block Kit layouts of every message and view the bot sends, each with the
plain-text fallback Slack shows in notifications.

Built with ``slack_sdk.models.blocks``, which checks Slack's limits when a
block is serialised; the texts are shortened here first (3,000 characters a
section, 75 a button label), so an FAQ with a very long answer still renders.
The layout follows one rule: a match below the threshold is never presented as
the answer, only offered as a "Did you mean…?" suggestion, and only if its
score reaches the suggestion floor. Near-tied top two FAQs are shown together
("one of these?"). Each FAQ shows one number, its readable match score (the
one that orders the list and decides answering); the raw cosine is in the
answer's details line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import messages
from bot.payloads import AnswerRef
from bot.text import escape, shorten
from faq_core.answer import Answer, Match
from faq_core.engine import MAX_QUERY_CHARS, IndexInfo

SECTION_CHARS = 3000
CONTEXT_CHARS = 2000
BUTTON_CHARS = 75
QUERY_DISPLAY_CHARS = 300

# action ids: the listeners route clicks on these
HELPFUL = "faq_vote_helpful"
NOT_HELPFUL = "faq_vote_not_helpful"
SHARE = "faq_share"
PICK_PREFIX = "faq_pick_"
VOTES = {HELPFUL: "helpful", NOT_HELPFUL: "not_helpful"}


@dataclass(frozen=True)
class Reply:
    """A message: fallback ``text`` plus Block Kit ``blocks`` (as dicts)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat.postMessage`` and friends."""
        return {"text": self.text, "blocks": self.blocks}


def score_label(match: Match) -> str:
    """The one number shown beside an FAQ: ``Match 73%``."""
    return messages.ANSWER_SCORE.format(percent=match.percent)


def details_label(answer: Answer, match: Match) -> str:
    """The details line: confidence, threshold and its source, raw cosine."""
    return messages.ANSWER_DETAILS.format(
        confidence=f"{answer.confidence:.2f}", threshold=f"{answer.threshold:.2f}",
        source=f", {answer.threshold_source}" if answer.threshold_source else "",
        cosine="n/a" if match.cosine is None else f"{match.cosine:.3f}",
    )


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, SECTION_CHARS)))


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=shorten(t, CONTEXT_CHARS)) for t in texts if t])


def _button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    return ButtonElement(text=shorten(label, BUTTON_CHARS), action_id=action_id, value=value, style=style)


def _render(blocks: list[Block]) -> list[dict[str, Any]]:
    return [block.to_dict() for block in blocks]


def _asked(answer: Answer) -> list[str]:
    notes = [messages.ANSWER_ASKED.format(query=escape(shorten(answer.query, QUERY_DISPLAY_CHARS)))]
    if answer.truncated:
        notes.append(messages.ANSWER_TRUNCATED.format(limit=MAX_QUERY_CHARS))
    return notes


def _faq_blocks(match: Match, details: str = "", body_chars: int = SECTION_CHARS) -> list[Block]:
    body = shorten(match.answer or messages.ANSWER_NO_TEXT, body_chars)
    header = messages.ANSWER_HEADER.format(question=match.question)
    facts = [score_label(match)]
    if match.url:
        facts.append(messages.ANSWER_SOURCE.format(url=match.url))
    return [_section(f"{header}\n{body}"), _context(" · ".join(facts), details)]


def _feedback_actions(ref: AnswerRef, *, shareable: bool) -> ActionsBlock:
    value = ref.encode()
    buttons = [
        _button(messages.BUTTON_HELPFUL, HELPFUL, value, "primary"),
        _button(messages.BUTTON_NOT_HELPFUL, NOT_HELPFUL, value),
    ]
    if shareable:
        buttons.append(_button(messages.BUTTON_SHARE, SHARE, value))
    return ActionsBlock(block_id=f"feedback-{ref.answer_id}", elements=buttons)


def _fallback(match: Match) -> str:
    text = messages.ANSWER_FALLBACK.format(
        question=match.question, answer=match.answer or messages.ANSWER_NO_TEXT, score=score_label(match)
    )
    return f"{text}\n{match.url}" if match.url else text


def answer_reply(
    answer: Answer,
    ref: AnswerRef,
    *,
    shareable: bool = False,
    notes: tuple[str, ...] = (),
    shared_by: str | None = None,
) -> Reply:
    """The reply to a question: the answer when the engine is confident, else
    the plain "no good answer" with "Did you mean…?" buttons.

    ``shareable`` adds "Share in channel" (ephemeral answers); ``notes`` are
    feedback lines shown under the buttons after votes.
    """
    best = answer.best
    if best is None:
        return usage_reply(None)  # unreachable: an index holds at least one FAQ, so there is a best match
    if answer.ambiguous and not ref.picked:
        return _ambiguous_reply(answer, ref)
    if not (answer.answered or ref.picked):
        return _no_match_reply(answer, ref)
    blocks: list[Block] = []
    if shared_by:
        blocks.append(_context(messages.SHARED_BY.format(user=shared_by)))
    if ref.picked:
        blocks.append(_context(messages.PICKED_HEADER))
    blocks += _faq_blocks(best, "" if ref.picked else details_label(answer, best))
    blocks.append(_context(*_asked(answer)))
    others = [] if ref.picked else list(answer.matches[1:3])
    if others:
        lines = [messages.OTHER_MATCH_LINE.format(question=m.question, score=score_label(m)) for m in others]
        blocks.append(_context(messages.OTHER_MATCHES + "\n" + "\n".join(lines)))
    blocks.append(_feedback_actions(ref, shareable=shareable))
    if notes:
        blocks.append(_context(*notes))
    return Reply(text=_fallback(best), blocks=_render(blocks))


def _no_match_reply(answer: Answer, ref: AnswerRef) -> Reply:
    best = answer.best
    assert best is not None
    blocks: list[Block] = [
        _section(messages.NO_MATCH.format(confidence=f"{answer.confidence:.2f}",
                                          threshold=f"{answer.threshold:.2f}")),
        _context(*_asked(answer)),
    ]
    suggestions = answer.suggestions()
    if suggestions:
        lines = [messages.OTHER_MATCH_LINE.format(question=m.question, score=score_label(m)) for m in suggestions]
        blocks.append(_section(messages.NO_MATCH_SUGGEST + "\n" + "\n".join(lines)))
        blocks.append(ActionsBlock(
            block_id=f"suggest-{ref.answer_id}",
            elements=[_button(m.question, f"{PICK_PREFIX}{i}", ref.picking(m.faq_id).encode())
                      for i, m in enumerate(suggestions)],
        ))
    blocks.append(_context(messages.NO_MATCH_NONE))
    fallback = " ".join([messages.NO_MATCH_FALLBACK, *(f"{m.question}?" for m in suggestions)])
    return Reply(text=fallback.replace("??", "?"), blocks=_render(blocks))


def _ambiguous_reply(answer: Answer, ref: AnswerRef) -> Reply:
    """"One of these?": the two near-tied FAQs, each with its answer and a button to pick it."""
    first, second = answer.contenders
    blocks: list[Block] = [_section(messages.AMBIGUOUS)]
    for match in (first, second):
        blocks += _faq_blocks(match, body_chars=600)
    blocks.append(_context(*_asked(answer), details_label(answer, first)))
    blocks.append(ActionsBlock(
        block_id=f"suggest-{ref.answer_id}",
        elements=[_button(messages.BUTTON_THIS_ONE.format(question=m.question), f"{PICK_PREFIX}{i}",
                          ref.picking(m.faq_id).encode()) for i, m in enumerate((first, second))],
    ))
    fallback = messages.AMBIGUOUS_FALLBACK.format(first=first.question, second=second.question)
    return Reply(text=fallback, blocks=_render(blocks))


EXAMPLE_CHARS = 120


def example_question(info: IndexInfo | None) -> str:
    """A question of the served index for "ask me, e.g. ..." help, made safe
    to show inside mrkdwn and a code span; neutral wording without one."""
    text = " ".join((info.example if info else "").replace("`", "'").split())
    return escape(shorten(text, EXAMPLE_CHARS)) if text else messages.EXAMPLE_NEUTRAL


def usage_reply(bot_user_id: str | None, info: IndexInfo | None = None) -> Reply:
    """How to ask: for an empty question or ``/faq`` without text, with an
    example question from the served index (``info``)."""
    bot = f"<@{bot_user_id}>" if bot_user_id else "@FAQ bot"
    example = example_question(info)
    return Reply(text=messages.USAGE_FALLBACK.format(example=example),
                 blocks=_render([_section(messages.USAGE.format(bot=bot, example=example))]))


def notice_reply(text: str) -> Reply:
    """A one-sentence message (errors, notices)."""
    return Reply(text=text, blocks=_render([_section(text)]))


def home_view(info: IndexInfo, bot_user_id: str | None, *,
              revision: tuple[str, datetime] | None = None) -> dict[str, Any]:
    """The App Home tab: what the bot does, how to ask, which index it serves
    (for admins, ``revision``: the served revision and when it changed)."""
    bot = f"<@{bot_user_id}>" if bot_user_id else "@FAQ bot"
    index = messages.HOME_INDEX.format(
        name=info.display_name, faq_count=info.faq_count, phrasing_count=info.phrasing_count,
        model=info.model_id, backend=info.backend, threshold=f"{info.threshold:.2f}",
        threshold_source=info.threshold_source or "index",
    )
    blocks: list[Block] = [
        HeaderBlock(text=messages.HOME_TITLE),
        _section(messages.HOME_ABOUT),
    ]
    if info.bundled_sample:
        blocks.append(_section(messages.HOME_SAMPLE.format(faq_count=info.faq_count)))
    blocks += [
        DividerBlock(),
        HeaderBlock(text=messages.HOME_HOW_TITLE),
        _section(messages.HOME_HOW.format(bot=bot, example=example_question(info))),
        DividerBlock(),
        HeaderBlock(text=messages.HOME_INDEX_TITLE),
        _section(index),
    ]
    if revision is not None:
        blocks.append(_section(messages.HOME_REVISION.format(
            revision=revision[0], changed=f"<!date^{int(revision[1].timestamp())}^{{date_short_pretty}} {{time}}|"
                                           f"{revision[1].isoformat(timespec='seconds')}>")))
    return View(type="home", blocks=blocks).to_dict()
