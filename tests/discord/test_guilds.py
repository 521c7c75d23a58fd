"""Leaving a guild: when Discord removes the bot from a server (GUILD_DELETE
without ``unavailable``), that guild's stored data is scheduled for erasure
after the retention period; an outage (``unavailable: true``) schedules
nothing, and being added back before it is due cancels it. Through the real
client against the Discord stand-in."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.discord.settings import DiscordSettings
from bot.features.recording import recorded_questions
from bot.store.database import Store
from bot.store.erasure import erase_due, erasures
from bot.store.scoping import Scope
from bot.tenancy import Tenant
from faq_core.engine import FAQEngine
from tests.discord.conftest import MESSAGES, start_bot
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn

GUILD = Tenant.discord(P.GUILD_ID)


def test_a_guild_that_removed_the_bot_is_erased_after_the_retention_period_and_an_outage_is_not(
        standin: DiscordStandIn, settings: DiscordSettings, engine: FAQEngine, store: Store) -> None:
    running = start_bot(replace(settings, feedback_retention_days=30), engine, store)
    try:
        standin.message(P.mention_message("I lost my Medicare card, what do I do?"))
        standin.api.wait_calls("POST", MESSAGES)
        assert running.bot.workers is not None and running.bot.workers.wait_idle(60)
        [asked] = recorded_questions(store, scope=Scope(GUILD))
        assert asked.workspace == P.GUILD_ID

        standin.gateway.dispatch("GUILD_DELETE", {"id": P.GUILD_ID, "unavailable": True})  # an outage
        standin.message(P.mention_message("How much does Part B cost?"))  # handled after the outage event
        standin.api.wait_calls("POST", MESSAGES, count=2)
        assert erasures(store) == []

        before = datetime.now(UTC)
        standin.gateway.dispatch("GUILD_DELETE", {"id": P.GUILD_ID})  # removed from the server
        standin.gateway.wait_for(lambda: bool(erasures(store)), what="the guild's erasure")
        [erasure] = erasures(store)
        assert erasure.tenant == GUILD and erasure.done_at is None
        assert before + timedelta(days=29) < erasure.due_at < datetime.now(UTC) + timedelta(days=31)

        joined = {k: v for k, v in P.guild().items() if k != "unavailable"}  # a join, as Discord sends it
        standin.gateway.dispatch("GUILD_CREATE", joined)  # added back before it is due
        standin.gateway.wait_for(lambda: not erasures(store), what="the erasure cancelled")

        standin.gateway.dispatch("GUILD_DELETE", {"id": P.GUILD_ID})
        standin.gateway.wait_for(lambda: bool(erasures(store)), what="the guild's erasure again")
    finally:
        running.stop()
    [erasure] = erasures(store)
    assert erase_due(store, now=erasure.due_at - timedelta(seconds=1)) == 0
    assert len(recorded_questions(store, scope=Scope(GUILD))) == 2
    assert erase_due(store, now=erasure.due_at) > 0
    assert recorded_questions(store, scope=Scope(GUILD)) == []
