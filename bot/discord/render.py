"""The Discord renderer: a :class:`~bot.conversation.replies.ReplyContent` as a Discord
message body (content, embeds, button components), within Discord's limits.

Each FAQ is an embed: its question as the title (linked to the source), the
answer, the readable score and a source link; the footer (plain text, so a
question is never read as markdown) says what was asked and the details. A
button's ``custom_id`` holds 100 characters, too few for the answer reference
a Slack button carries, so it holds a slot and the answer id
(``faq:f:<answer id>``); :func:`button_values` gives what each slot stands
for, which the bot keeps in the store before sending.
"""

from __future__ import annotations

from typing import Any

from bot import messages
from bot.conversation.replies import Kind, ReplyContent, ShownFAQ
from bot.conversation.text import shorten

EPHEMERAL = 1 << 6
CONTENT_CHARS = 2000
TITLE_CHARS = 256
DESCRIPTION_CHARS = 2500  # of 4,096: with title, fields and footer the embeds stay under 6,000
AMBIGUOUS_CHARS = 600
FIELD_CHARS = 1024
FOOTER_CHARS = 1000
LABEL_CHARS = 80
QUERY_DISPLAY_CHARS = 300
MAX_BUTTONS = 5  # one action row

PREFIX = "faq"
HELPFUL, NOT_HELPFUL, SHARE, PICK, HANDOFF = "h", "n", "s", "p", "a"
VOTES = {HELPFUL: "helpful", NOT_HELPFUL: "not_helpful"}
FEEDBACK_SLOT = "f"

# Styles of Discord buttons
_PRIMARY, _SECONDARY, _SUCCESS = 1, 2, 3


def custom_id(action: str, answer_id: str, index: int | None = None) -> str:
    """A button's id: ``faq:<action>:<answer id>[:<index>]``."""
    return f"{PREFIX}:{action}:{answer_id}" + ("" if index is None else f":{index}")


def parse_custom_id(value: str) -> tuple[str, str, int | None] | None:
    """(action, answer id, index) of one of our buttons, or None for anything else."""
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[0] != PREFIX or parts[1] not in (HELPFUL, NOT_HELPFUL, SHARE, PICK,
                                                                          HANDOFF):
        return None
    if len(parts) == 4 and not parts[3].isdigit():
        return None
    return parts[1], parts[2], int(parts[3]) if len(parts) == 4 else None


def slot(action: str, index: int | None) -> str:
    """Which kept value a button stands for: the feedback ref, pick ``index``, or the hand-off."""
    if action == PICK:
        return f"{PICK}{index}"
    return HANDOFF if action == HANDOFF else FEEDBACK_SLOT


def button_values(content: ReplyContent) -> dict[str, str]:
    """What the buttons of ``content`` stand for, by slot (empty: no buttons)."""
    values = {slot(PICK, i): choice.value for i, choice in enumerate(content.choices[:MAX_BUTTONS])}
    if content.feedback is not None:
        values[FEEDBACK_SLOT] = content.feedback.value
    if content.handoff is not None:
        values[HANDOFF] = content.handoff.value
    return values


def _footer(content: ReplyContent, *extra: str) -> dict[str, str]:
    lines = [messages.DISCORD_ASKED.format(query=shorten(content.query, QUERY_DISPLAY_CHARS))]
    if content.truncated_at is not None:
        lines.append(messages.ANSWER_TRUNCATED.format(limit=content.truncated_at))
    lines += [e for e in extra if e]
    return {"text": shorten("\n".join(lines), FOOTER_CHARS)}


def _faq_embed(faq: ShownFAQ, body_chars: int = DESCRIPTION_CHARS) -> dict[str, Any]:
    facts = [faq.score]
    if faq.url:
        facts.append(messages.DISCORD_SOURCE.format(url=faq.url))
    embed: dict[str, Any] = {"title": shorten(faq.question, TITLE_CHARS),
                             "description": f"{shorten(faq.answer, body_chars)}\n\n{' · '.join(facts)}"}
    if faq.url and len(faq.url) <= 2048:
        embed["url"] = faq.url
    return embed


def _lines(items: tuple[Any, ...]) -> str:
    return shorten("\n".join(messages.OTHER_MATCH_LINE.format(question=i.question, score=i.score) for i in items),
                   FIELD_CHARS)


def _button(label: str, button_id: str, style: int) -> dict[str, Any]:
    return {"type": 2, "style": style, "label": shorten(label, LABEL_CHARS), "custom_id": button_id}


def _row(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(buttons)[:MAX_BUTTONS]}


def _answer(content: ReplyContent) -> dict[str, Any]:
    faq = content.faqs[0]
    embed = _faq_embed(faq)
    if content.others:
        embed["fields"] = [{"name": messages.OTHER_MATCHES, "value": _lines(content.others)}]
    embed["footer"] = _footer(content, faq.details)
    head = []
    if content.shared_by:
        head.append(messages.SHARED_BY.format(user=content.shared_by))
    if content.picked:
        head.append(messages.PICKED_HEADER)
    body: dict[str, Any] = {"content": "\n".join([*head, *content.notes]), "embeds": [embed]}
    if content.feedback is not None:
        buttons = [_button(messages.BUTTON_HELPFUL, custom_id(HELPFUL, content.answer_id), _SUCCESS),
                   _button(messages.BUTTON_NOT_HELPFUL, custom_id(NOT_HELPFUL, content.answer_id), _SECONDARY)]
        if content.feedback.shareable:
            buttons.append(_button(messages.BUTTON_SHARE, custom_id(SHARE, content.answer_id), _PRIMARY))
        body["components"] = [_row(*buttons)]
    return body


def _no_match(content: ReplyContent) -> dict[str, Any]:
    embed: dict[str, Any] = {"description": content.no_match}
    if content.choices:
        embed["fields"] = [{"name": messages.DID_YOU_MEAN, "value": _lines(content.choices)}]
    rows = []
    if content.choices:
        rows.append(_row(*(_button(c.question, custom_id(PICK, content.answer_id, i), _SECONDARY)
                           for i, c in enumerate(content.choices[:MAX_BUTTONS]))))
    if content.handoff is not None:  # "Ask a person": the offer says where (a channel mention), the button does it
        embed["description"] += "\n\n" + messages.DISCORD_HANDOFF_OFFER.format(
            button=messages.BUTTON_HANDOFF, where=channel_mention(content.handoff.target))
        embed["footer"] = _footer(content)
        rows.append(_row(_button(messages.BUTTON_HANDOFF, custom_id(HANDOFF, content.answer_id), _PRIMARY)))
    else:
        embed["footer"] = _footer(content, content.ask_instead or messages.NO_MATCH_NONE)
    return {"content": "", "embeds": [embed], "components": rows}


def channel_mention(channel_id: str) -> str:
    """A Discord channel as a clickable mention (``<#id>``)."""
    return f"<#{channel_id}>"


def _ambiguous(content: ReplyContent) -> dict[str, Any]:
    embeds = [_faq_embed(faq, AMBIGUOUS_CHARS) for faq in content.faqs]
    embeds[-1]["footer"] = _footer(content, content.details)
    buttons = [_button(messages.BUTTON_THIS_ONE.format(question=c.question), custom_id(PICK, content.answer_id, i),
                       _PRIMARY) for i, c in enumerate(content.choices)]
    return {"content": messages.AMBIGUOUS, "embeds": embeds, "components": [_row(*buttons)]}


def escape(text: str) -> str:
    """``text`` shown literally in Discord markdown (outside code spans)."""
    return "".join(f"\\{c}" if c in "\\*_~`|>#-[]()" else c for c in text)


def _usage(content: ReplyContent) -> dict[str, Any]:
    bot = f"<@{content.bot_user_id}>" if content.bot_user_id else "@FAQ bot"
    example = shorten(content.example, 120) if content.example else messages.EXAMPLE_NEUTRAL
    text = messages.USAGE.format(bot=bot, example=example)
    # the example appears once as plain text (escaped) and once inside the code span (as is)
    text = text.replace(f"{bot} {example}", f"{bot} {escape(example)}", 1)
    return {"content": shorten(text, CONTENT_CHARS)}


def render(content: ReplyContent, *, ephemeral: bool = False) -> dict[str, Any]:
    """The JSON body of a Discord message (create, edit, follow-up or
    interaction response) showing ``content``. Mentions never ping anyone."""
    if content.kind is Kind.ANSWER:
        body = _answer(content)
    elif content.kind is Kind.NO_MATCH:
        body = _no_match(content)
    elif content.kind is Kind.AMBIGUOUS:
        body = _ambiguous(content)
    elif content.kind is Kind.USAGE:
        body = _usage(content)
    else:
        body = {"content": content.text}
    body["content"] = shorten(body.get("content", ""), CONTENT_CHARS)
    body.setdefault("embeds", [])
    body.setdefault("components", [])
    body["allowed_mentions"] = {"parse": []}
    if ephemeral:
        body["flags"] = EPHEMERAL
    return body
