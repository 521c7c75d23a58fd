"""Posting the review digest (:mod:`bot.features.digest`) to ``DIGEST_CHANNEL``.

Run from the workers' periodic maintenance (hourly, and at start-up) on
every replica: each checks whether the latest period's digest is due, and
the store elects the one that posts it. The post carries the period as its
key, so a replica taking over a dead one's claim finds a post that did get
through instead of posting again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.features.digest import Line, Paragraph, build_digest, claim_period, digest_content, last_period, mark_sent
from bot.slack.blocks import Reply, as_dicts, section
from bot.slack.settings import SlackSettings
from bot.slack.text import escape
from bot.slack.web_api import post_reply
from bot.store.database import Store
from bot.store.scoping import scope_for
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine

log = logging.getLogger(__name__)


def mrkdwn(line: Line) -> str:
    """A digest line in Slack's mrkdwn: values escaped, emphasis in bold, commands in code."""
    parts = []
    for span in line.spans:
        text = span.text if span.ours else escape(span.text)
        parts.append(f"`{text}`" if span.code else f"*{text}*" if span.strong and text.strip() else text)
    text = "".join(parts)
    return f"*{text}*" if line.heading else text


def digest_reply(paragraphs: tuple[Paragraph, ...]) -> Reply:
    """The digest as a Slack message: one section per paragraph, the whole in mrkdwn as its text."""
    parts = ["\n".join(mrkdwn(line) for line in paragraph) for paragraph in paragraphs]
    return Reply(text="\n\n".join(parts), blocks=as_dicts([section(part) for part in parts]))


def token_tenant(client: WebClient) -> Tenant | None:
    """The workspace (and Grid org) the client's token belongs to, from ``auth.test``."""
    found = client.auth_test()
    team, enterprise = found.get("team_id"), found.get("enterprise_id")
    return Tenant.slack(str(team), str(enterprise) if enterprise else None) if team else None


def send_due_digest(settings: SlackSettings, store: Store, engine: FAQEngine | None, client: WebClient, *,
                    now: datetime | None = None) -> str | None:
    """Post the latest ended period's digest of the token's workspace (its
    questions and votes only: ``DIGEST_CHANNEL`` is one of its channels) if no
    replica has: returns the message ts when this replica posted it, else None."""
    channel = settings.digest_channel
    if not channel:
        return None
    tenant = token_tenant(client)
    period = last_period(now or datetime.now(UTC), settings.digest_every_days)
    election = claim_period(store, period, channel, now=now, tenant=tenant)
    if not election.won:
        return None
    reply = digest_reply(digest_content(build_digest(store, engine, period, scope_for(store, tenant))))
    ts = post_reply(client, channel, reply, key=f"digest:{period.key}", look_first=election.taken_over)
    mark_sent(store, period, ts, tenant)
    log.info("posted the digest of %s to %s", period.key, channel)
    return ts
