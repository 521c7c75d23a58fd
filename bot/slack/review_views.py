"""The Slack layout of the FAQ review (admins only): the App Home section and
the "New FAQ…" modal.

The App Home section lists the top clusters of missed questions
(:func:`bot.features.review.clusters.review`) with their example questions and three
controls each: "Add as phrasing of [FAQ ▾]" (a static select, the suggested
FAQ preselected, and its button), "New FAQ…" (opens :func:`new_faq_modal`)
and "Dismiss". Every control's action id ends with ``:<cluster id>``, so one
regular expression routes each kind and the ids stay unique in the view.
Who may see and use this is decided in :mod:`bot.slack.review_actions`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot import messages
from bot.conversation.text import shorten
from bot.features.review.clusters import NEW_FAQ, Cluster
from bot.slack.blocks import button, context, section
from bot.slack.text import escape
from faq_core.index import FAQIndex
from faq_core.links import is_http_url
from faq_core.wording import counted

# Action id prefixes (each followed by ":<cluster id>") and the modal's callback id.
REVIEW_FAQ = "faq_review_faq"
REVIEW_ACCEPT = "faq_review_accept"
REVIEW_NEW = "faq_review_new"
REVIEW_DISMISS = "faq_review_dismiss"
NEW_FAQ_MODAL = "faq_review_new_faq"
# The modal's input blocks (each element's action id is its block's id).
QUESTION_BLOCK, ANSWER_BLOCK, URL_BLOCK = "question", "answer", "url"

HOME_CLUSTERS = 8  # at most 4 blocks each: the view stays under Slack's 100 blocks
HOME_DUPLICATE_GROUPS = 5  # near-duplicate FAQ groups listed (one section for all of them)
SELECT_OPTIONS = 100  # Slack's limit for a static select
OPTION_CHARS = 75
EXAMPLE_CHARS = 150
PREFILL_CHARS = 150  # the question a "New FAQ…" button carries to prefill the modal
MODAL_TITLE_CHARS = 24
QUESTION_CHARS, ANSWER_CHARS, URL_CHARS = 300, 3000, 500


def action_id(kind: str, cluster_id: str) -> str:
    """The action id of one control of one cluster."""
    return f"{kind}:{cluster_id}"


def cluster_of(action: str) -> str:
    """The cluster id an action id names ("" if none)."""
    return action.partition(":")[2]


def block_id(cluster_id: str) -> str:
    """The block holding a cluster's controls (its select's state is read from it)."""
    return f"review-{cluster_id}"


def _option(faq_id: str, question: str) -> Option:
    return Option(value=faq_id, text=shorten(" ".join(question.split()) or faq_id, OPTION_CHARS))


def faq_options(index: FAQIndex, first: str | None) -> list[Option]:
    """The FAQs an admin may pick (the suggested one first), as many as a select holds."""
    chosen = index.faq_by_id(first) if first else None
    options = [_option(chosen.id, chosen.question)] if chosen is not None else []
    for faq in index.faqs:
        if len(options) >= SELECT_OPTIONS:
            break
        if chosen is None or faq.id != chosen.id:
            options.append(_option(faq.id, faq.question))
    return options


def _cluster_blocks(rank: int, cluster: Cluster, index: FAQIndex) -> list[Block]:
    reasons = ", ".join(f"{reason} {n}" for reason, n in cluster.reasons.items())
    last = cluster.last_asked.date().isoformat() if cluster.last_asked else "-"
    lines = [messages.REVIEW_CLUSTER.format(rank=rank, people=counted(cluster.people, "person", "people"),
                                            asked=cluster.asked, last=last, reasons=reasons)]
    lines += [messages.REVIEW_EXAMPLE.format(text=escape(shorten(" ".join(e.text.split()), EXAMPLE_CHARS)),
                                             asked=e.asked) for e in cluster.examples]
    more = len(cluster.texts) - len(cluster.examples)
    if more > 0:
        lines.append(messages.REVIEW_MORE.format(more=more))
    suggestion = cluster.suggestion
    if suggestion.kind == NEW_FAQ:
        advice = messages.REVIEW_SUGGEST_NEW.format(why=escape(suggestion.why))
    else:
        advice = messages.REVIEW_SUGGEST_PHRASING.format(question=escape(suggestion.faq_question or ""),
                                                         why=escape(suggestion.why))
    options = faq_options(index, suggestion.faq_id)
    select = StaticSelectElement(
        action_id=action_id(REVIEW_FAQ, cluster.id), placeholder=messages.REVIEW_PICK_FAQ, options=options,
        initial_option=options[0] if suggestion.faq_id and options else None)
    prefill = json.dumps({"c": cluster.id, "q": shorten(cluster.texts[0], PREFILL_CHARS)}, ensure_ascii=False)
    controls = ActionsBlock(block_id=block_id(cluster.id), elements=[
        select,
        button(messages.BUTTON_REVIEW_ACCEPT, action_id(REVIEW_ACCEPT, cluster.id), cluster.id, "primary"),
        button(messages.BUTTON_REVIEW_NEW, action_id(REVIEW_NEW, cluster.id), prefill),
        button(messages.BUTTON_REVIEW_DISMISS, action_id(REVIEW_DISMISS, cluster.id), cluster.id),
    ])
    return [section("\n".join(lines)), context(advice), controls]


def duplicates_blocks(groups: Sequence[Sequence[str]], index: FAQIndex) -> list[Block]:
    """Near-duplicate FAQs (ids, a group each), as one section: the owner
    should merge them or add phrasings that tell them apart ([] if none)."""
    if not groups:
        return []
    lines = [messages.REVIEW_DUPLICATES_TITLE]
    for group in groups[:HOME_DUPLICATE_GROUPS]:
        faqs = "; ".join(f"“{escape(shorten(faq.question, OPTION_CHARS))}” (`{escape(faq.id)}`)"
                         for faq in (index.faq_by_id(i) for i in group) if faq is not None)
        lines.append(messages.REVIEW_DUPLICATES_GROUP.format(count=len(group), faqs=faqs))
    if len(groups) > HOME_DUPLICATE_GROUPS:
        lines.append(messages.REVIEW_DUPLICATES_MORE.format(more=len(groups) - HOME_DUPLICATE_GROUPS))
    return [section("\n".join(lines))]


def review_section(clusters: Sequence[Cluster], index: FAQIndex, *, days: float,
                   notice: str | None = None, duplicates: Sequence[Sequence[str]] = ()) -> list[Block]:
    """The "FAQ review" part of an admin's App Home: ``notice`` (the outcome
    of their last decision) first, then near-duplicate FAQs, then the top clusters."""
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text=messages.REVIEW_TITLE)]
    if notice:
        blocks.append(section(notice))
    blocks += duplicates_blocks(duplicates, index)
    blocks.append(context(messages.REVIEW_ABOUT.format(days=f"{days:g}")))
    if not clusters:
        blocks.append(section(messages.REVIEW_EMPTY.format(days=f"{days:g}")))
        return blocks
    for rank, cluster in enumerate(clusters[:HOME_CLUSTERS], start=1):
        blocks += _cluster_blocks(rank, cluster, index)
    blocks.append(context(messages.REVIEW_SHOWN.format(shown=min(len(clusters), HOME_CLUSTERS),
                                                       total=len(clusters)), messages.REVIEW_APPLY_HINT))
    return blocks


def review_unavailable(reason: str) -> list[Block]:
    """The review part when the clusters could not be computed."""
    return [DividerBlock(), HeaderBlock(text=messages.REVIEW_TITLE),
            section(messages.REVIEW_UNAVAILABLE.format(reason=escape(reason)))]


def _input(block: str, label: str, *, initial: str = "", multiline: bool = False, max_length: int,
           optional: bool = False) -> InputBlock:
    element = PlainTextInputElement(action_id=block, initial_value=initial or None, multiline=multiline,
                                    max_length=max_length)
    return InputBlock(block_id=block, label=label, element=element, optional=optional)


def new_faq_modal(cluster_id: str, question: str) -> dict[str, Any]:
    """The "New FAQ…" modal for a cluster: question (prefilled with its most
    asked question), answer and link; the cluster id rides in ``private_metadata``."""
    blocks: list[Block] = [
        context(messages.REVIEW_MODAL_INTRO.format(example=escape(shorten(question, EXAMPLE_CHARS)))),
        _input(QUESTION_BLOCK, messages.REVIEW_MODAL_QUESTION, initial=shorten(question, QUESTION_CHARS),
               max_length=QUESTION_CHARS),
        _input(ANSWER_BLOCK, messages.REVIEW_MODAL_ANSWER, multiline=True, max_length=ANSWER_CHARS),
        _input(URL_BLOCK, messages.REVIEW_MODAL_URL, max_length=URL_CHARS, optional=True),
    ]
    return View(type="modal", callback_id=NEW_FAQ_MODAL, title=messages.REVIEW_MODAL_TITLE[:MODAL_TITLE_CHARS],
                submit=messages.REVIEW_MODAL_SUBMIT, close=messages.REVIEW_MODAL_CLOSE, blocks=blocks,
                private_metadata=json.dumps({"c": cluster_id})).to_dict()


def submitted(view: dict[str, Any]) -> dict[str, str]:
    """The modal's fields as submitted (``question``, ``answer``, ``url``;
    missing ones empty) from ``view.state.values``."""
    values = ((view.get("state") or {}).get("values") or {}) if isinstance(view, dict) else {}
    out = {}
    for block in (QUESTION_BLOCK, ANSWER_BLOCK, URL_BLOCK):
        field = (values.get(block) or {}).get(block) or {}
        value = field.get("value") if isinstance(field, dict) else None
        out[block] = value.strip() if isinstance(value, str) else ""
    return out


def modal_errors(fields: dict[str, str]) -> dict[str, str]:
    """What is wrong with a submitted "New FAQ" (block id -> message), shown beside the field."""
    errors = {}
    if not fields.get(QUESTION_BLOCK):
        errors[QUESTION_BLOCK] = messages.REVIEW_MODAL_NEED_TEXT.format(what="question")
    if not fields.get(ANSWER_BLOCK):
        errors[ANSWER_BLOCK] = messages.REVIEW_MODAL_NEED_TEXT.format(what="answer")
    url = fields.get(URL_BLOCK, "")
    if url and not is_http_url(url):
        errors[URL_BLOCK] = messages.REVIEW_MODAL_BAD_URL
    return errors


def selected_faq(view: dict[str, Any], cluster_id: str) -> str | None:
    """The FAQ chosen in a cluster's select, from the Home view's state (None
    when the admin left it untouched: Slack then sends no state for it)."""
    values = ((view.get("state") or {}).get("values") or {}) if isinstance(view, dict) else {}
    field = (values.get(block_id(cluster_id)) or {}).get(action_id(REVIEW_FAQ, cluster_id)) or {}
    option = field.get("selected_option") if isinstance(field, dict) else None
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) and value else None
