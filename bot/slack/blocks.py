"""The Slack renderer: Block Kit layouts of every reply (the platform-neutral
:class:`~bot.conversation.replies.ReplyContent`) and view the bot sends, each with the
plain-text fallback Slack shows in notifications.

Built with ``slack_sdk.models.blocks``, which checks Slack's limits when a
block is serialised; the texts are shortened here first (3,000 characters a
section, 75 a button label), so an FAQ with a very long answer still renders.
What is shown is decided in :mod:`bot.conversation.replies`; this module only lays it out.
Each FAQ shows one number, its readable match score (the
one that orders the list and decides answering, worded "73% confidence" as
everywhere); the raw cosine is in the answer's details line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
from bot.conversation import replies
from bot.conversation.payloads import AnswerRef
from bot.conversation.replies import Choice, Feedback, Kind, ReplyContent, ShownFAQ
from bot.conversation.text import shorten
from bot.slack.text import escape
from faq_core.answer import Answer
from faq_core.engine import IndexInfo

SECTION_CHARS = 3000
CONTEXT_CHARS = 2000
BUTTON_CHARS = 75
QUERY_DISPLAY_CHARS = 300

# action ids: the listeners route clicks on these
HELPFUL = "faq_vote_helpful"
NOT_HELPFUL = "faq_vote_not_helpful"
SHARE = "faq_share"
PICK_PREFIX = "faq_pick_"
HANDOFF = "faq_handoff"
VOTES = {HELPFUL: "helpful", NOT_HELPFUL: "not_helpful"}


@dataclass(frozen=True)
class Reply:
    """A message: fallback ``text`` plus Block Kit ``blocks`` (as dicts)."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``chat.postMessage`` and friends."""
        return {"text": self.text, "blocks": self.blocks}


def render(content: ReplyContent) -> Reply:
    """The Slack message of a reply: Block Kit, with its plain-text fallback."""
    layout = _LAYOUTS[content.kind]
    return Reply(text=_fallback_text(content), blocks=as_dicts(layout(content)))


def answer_reply(answer: Answer, ref: AnswerRef, *, shareable: bool = False, notes: tuple[str, ...] = (),
                 shared_by: str | None = None) -> Reply:
    """:func:`bot.conversation.replies.answer_reply`, rendered for Slack."""
    return render(replies.answer_reply(answer, ref, shareable=shareable, notes=notes, shared_by=shared_by))


def usage_reply(bot_user_id: str | None, info: IndexInfo | None = None) -> Reply:
    """:func:`bot.conversation.replies.usage_reply`, rendered for Slack."""
    return render(replies.usage_reply(bot_user_id, info))


def notice_reply(text: str) -> Reply:
    """:func:`bot.conversation.replies.notice_reply`, rendered for Slack."""
    return render(replies.notice_reply(text))


def section(text: str) -> SectionBlock:
    """A mrkdwn section, shortened to Slack's 3,000 characters."""
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, SECTION_CHARS)))


def context(*texts: str) -> ContextBlock:
    """A context block of the non-empty ``texts``, each shortened to fit."""
    return ContextBlock(elements=[MarkdownTextObject(text=shorten(t, CONTEXT_CHARS)) for t in texts if t])


def button(label: str, action_id: str, value: str, style: str | None = None) -> ButtonElement:
    """A button whose label is shortened to Slack's 75 characters."""
    return ButtonElement(text=shorten(label, BUTTON_CHARS), action_id=action_id, value=value, style=style)


def as_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    """Blocks as the JSON Slack takes (checked against Slack's limits)."""
    return [block.to_dict() for block in blocks]


def _asked(content: ReplyContent) -> list[str]:
    notes = [messages.ANSWER_ASKED.format(query=escape(shorten(content.query, QUERY_DISPLAY_CHARS)))]
    if content.truncated_at is not None:
        notes.append(messages.ANSWER_TRUNCATED.format(limit=content.truncated_at))
    return notes


def _faq_blocks(faq: ShownFAQ, body_chars: int = SECTION_CHARS) -> list[Block]:
    header = messages.ANSWER_HEADER.format(question=faq.question)
    facts = [escape(faq.score)]  # "<1% confidence": a bare "<" would start Slack markup
    if faq.url:
        facts.append(messages.ANSWER_SOURCE.format(url=faq.url))
    return [section(f"{header}\n{shorten(faq.answer, body_chars)}"),
            context(" · ".join(facts), faq.details)]


def _feedback_actions(feedback: Feedback) -> ActionsBlock:
    buttons = [
        button(messages.BUTTON_HELPFUL, HELPFUL, feedback.value, "primary"),
        button(messages.BUTTON_NOT_HELPFUL, NOT_HELPFUL, feedback.value),
    ]
    if feedback.shareable:
        buttons.append(button(messages.BUTTON_SHARE, SHARE, feedback.value))
    return ActionsBlock(block_id=f"feedback-{feedback.answer_id}", elements=buttons)


def _other_lines(faqs: tuple[ShownFAQ, ...] | tuple[Choice, ...]) -> str:
    return "\n".join(messages.OTHER_MATCH_LINE.format(question=f.question, score=escape(f.score)) for f in faqs)


def _answer_blocks(content: ReplyContent) -> list[Block]:
    blocks: list[Block] = []
    if content.shared_by:
        blocks.append(context(messages.SHARED_BY.format(user=content.shared_by)))
    if content.picked:
        blocks.append(context(messages.PICKED_HEADER))
    blocks += _faq_blocks(content.faqs[0])
    blocks.append(context(*_asked(content)))
    if content.others:
        blocks.append(context(messages.OTHER_MATCHES + "\n" + _other_lines(content.others)))
    if content.feedback is not None:
        blocks.append(_feedback_actions(content.feedback))
    if content.notes:
        blocks.append(context(*content.notes))
    return blocks


def _no_match_blocks(content: ReplyContent) -> list[Block]:
    blocks: list[Block] = [section(content.no_match), context(*_asked(content))]
    if content.choices:
        blocks.append(section(messages.NO_MATCH_SUGGEST + "\n" + _other_lines(content.choices)))
        blocks.append(ActionsBlock(
            block_id=f"suggest-{content.answer_id}",
            elements=[button(c.question, f"{PICK_PREFIX}{i}", c.value) for i, c in enumerate(content.choices)],
        ))
    if content.handoff is not None:
        blocks.append(context(messages.HANDOFF_OFFER.format(button=messages.BUTTON_HANDOFF,
                                                             where=handoff_where(content.handoff.target))))
        blocks.append(ActionsBlock(block_id=f"handoff-{content.answer_id}",
                                   elements=[button(messages.BUTTON_HANDOFF, HANDOFF, content.handoff.value)]))
    else:
        blocks.append(context(content.ask_instead or messages.NO_MATCH_NONE))  # operator text: links allowed
    return blocks


def handoff_where(target: str) -> str:
    """Where a hand-off goes, as Slack shows it: ``#channel`` or ``@group``."""
    return f"<!subteam^{target}>" if target.startswith("S") else f"<#{target}>"


def _ambiguous_blocks(content: ReplyContent) -> list[Block]:
    """"One of these?": the two near-tied FAQs, each with its answer and a button to pick it."""
    blocks: list[Block] = [section(messages.AMBIGUOUS)]
    for faq in content.faqs:
        blocks += _faq_blocks(faq, body_chars=600)
    blocks.append(context(*_asked(content), content.details))
    blocks.append(ActionsBlock(
        block_id=f"suggest-{content.answer_id}",
        elements=[button(messages.BUTTON_THIS_ONE.format(question=c.question), f"{PICK_PREFIX}{i}", c.value)
                  for i, c in enumerate(content.choices)],
    ))
    return blocks


def example_question(info: IndexInfo | None) -> str:
    """A question of the served index for "ask me, e.g. ..." help, made safe
    to show inside mrkdwn and a code span; neutral wording without one."""
    return _example(replies.example_question(info))


def _example(text: str) -> str:
    return escape(shorten(text, replies.EXAMPLE_CHARS)) if text else messages.EXAMPLE_NEUTRAL


def _mention(bot_user_id: str | None) -> str:
    return f"<@{bot_user_id}>" if bot_user_id else "@FAQ bot"


def _usage_blocks(content: ReplyContent) -> list[Block]:
    return [section(messages.USAGE.format(bot=_mention(content.bot_user_id), example=_example(content.example)))]


def _notice_blocks(content: ReplyContent) -> list[Block]:
    return [section(content.text)]


def _fallback_text(content: ReplyContent) -> str:
    if content.kind is Kind.USAGE:
        return messages.USAGE_FALLBACK.format(example=_example(content.example))
    return content.text


_LAYOUTS: dict[Kind, Callable[[ReplyContent], list[Block]]] = {
    Kind.ANSWER: _answer_blocks, Kind.NO_MATCH: _no_match_blocks, Kind.AMBIGUOUS: _ambiguous_blocks,
    Kind.USAGE: _usage_blocks, Kind.NOTICE: _notice_blocks,
}


def home_view(info: IndexInfo, bot_user_id: str | None, extra: Sequence[Block] = (), *,
              revision: tuple[str, datetime] | None = None) -> dict[str, Any]:
    """The App Home tab: what the bot does, how to ask, which index it serves;
    for admins, ``revision`` (the served revision and when it changed) and
    ``extra`` blocks (the FAQ review) at the end."""
    bot = _mention(bot_user_id)
    index = messages.HOME_INDEX.format(
        name=info.display_name, faq_count=info.faq_count, phrasing_count=info.phrasing_count,
        model=info.model_id, backend=info.backend, threshold=f"{info.threshold:.2f}",
        threshold_source=info.threshold_source or "index",
        method=f": {info.threshold_method}" if info.threshold_method else "",
    )
    blocks: list[Block] = [
        HeaderBlock(text=messages.HOME_TITLE),
        section(messages.HOME_ABOUT),
    ]
    if info.bundled_sample:
        blocks.append(section(messages.HOME_SAMPLE.format(faq_count=info.faq_count)))
    blocks += [
        DividerBlock(),
        HeaderBlock(text=messages.HOME_HOW_TITLE),
        section(messages.HOME_HOW.format(bot=bot, example=example_question(info))),
        DividerBlock(),
        HeaderBlock(text=messages.HOME_INDEX_TITLE),
        section(index),
    ]
    if revision is not None:
        blocks.append(section(messages.HOME_REVISION.format(
            revision=revision[0], changed=f"<!date^{int(revision[1].timestamp())}^{{date_short_pretty}} {{time}}|"
                                          f"{revision[1].isoformat(timespec='seconds')}>")))
    blocks += extra
    return View(type="home", blocks=blocks).to_dict()
