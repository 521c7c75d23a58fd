"""A Discord replica follows the FAQ revision like a Slack one: a new build of
a local folder or a new commit on the Hub branch is served without a restart,
autocomplete follows the swap (its suggestions are rebuilt beside the serving
ones), the replica registers in the store, and ``faq-bot rollback``'s pin
sends it back; a suggestion picked from a revision no longer served is told
so. Waits are on the reloader's checks and the stand-in's calls, never sleeps."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot import messages
from bot.discord.settings import DiscordSettings
from bot.serving.holder import ServingEngine
from bot.serving.reloading import Reloading, start_reloading
from bot.serving.replicas import pin, replicas
from bot.store.database import Store
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import load_index, save_index
from tests.discord.conftest import CALLBACK, MESSAGES, ORIGINAL, RunningBot, start_bot
from tests.faq_sources import NEW_FAQ, V2_MARK, upload
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn
from tests.stubs.hub_api import HubStub

REPO = "acme/faq"
WAIT = 60.0


def _choices(standin: DiscordStandIn, typed: str) -> list[str]:
    """The names of the autocomplete choices for ``typed``."""
    before = len(standin.api.calls_to("POST", CALLBACK))
    standin.interaction(P.slash_command("faq", {"question": typed}, focused="question"))
    call = standin.api.wait_calls("POST", CALLBACK, count=before + 1)[before]
    assert call.status == 200 and call.body["type"] == 8, call.response
    return [choice["name"] for choice in call.body["data"]["choices"]]


def _command(standin: DiscordStandIn, question: str) -> dict:
    """``/faq question``: the body of the edit that answers it."""
    before = len(standin.api.calls_to("PATCH", ORIGINAL))
    standin.interaction(P.slash_command("faq", {"question": question}))
    return standin.api.wait_calls("PATCH", ORIGINAL, count=before + 1)[before].body


def _mention(standin: DiscordStandIn, question: str) -> dict:
    before = len(standin.api.calls_to("POST", MESSAGES))
    standin.message(P.mention_message(question))
    return standin.api.wait_calls("POST", MESSAGES, count=before + 1)[before].body


@contextmanager
def following(settings: DiscordSettings, store: Store,
              serving: ServingEngine) -> Iterator[tuple[Reloading, RunningBot]]:
    """A Discord bot on ``serving``, kept on its revision as ``python -m bot discord`` does."""
    reloading = start_reloading(serving, settings, store)
    assert reloading is not None
    running = start_bot(settings, serving, store)
    try:
        yield reloading, running
    finally:
        running.stop()
        reloading.stop()
    assert running.error is None, f"the bot died: {running.error!r}"


def test_a_new_local_build_reaches_answers_and_autocomplete(
    standin: DiscordStandIn, settings: DiscordSettings, store: Store, tmp_path: Path,
    revision_folders: dict[str, Path], local_embedder: LocalEmbedder,
) -> None:
    served = save_index(load_index(revision_folders["v1"]), tmp_path / "served")
    settings = dataclasses.replace(settings, faq_index=str(served), faq_reload_seconds=0.2)
    serving = ServingEngine(FAQEngine(load_index(served), local_embedder))
    first = serving.revision
    with following(settings, store, serving) as (reloading, running):
        assert NEW_FAQ["question"] not in _choices(standin, "travelling abroad")
        assert [r.revision for r in replicas(store)] == [first]  # registered as a replica

        save_index(load_index(revision_folders["v2"]), served)  # 'faq-bot index build --out served'
        assert reloading.reloader.wait_until(lambda: serving.revision != first, WAIT)

        assert _choices(standin, "travelling abroad")[0] == NEW_FAQ["question"]
        picked = _command(standin, f"faq:{NEW_FAQ['id']}")  # the new suggestion, picked
        assert picked["embeds"][0]["title"] == NEW_FAQ["question"]
        assert picked["embeds"][0]["description"].startswith(NEW_FAQ["answer"] + V2_MARK)
        answered = _mention(standin, "How do I sign up for Medicare?")
        assert V2_MARK in answered["embeds"][0]["description"]
        assert running.bot.client.serving is serving and serving.swaps == 1
        assert [r.revision for r in replicas(store)] == [serving.revision]


def test_a_hub_commit_is_followed_and_a_rollback_pin_obeyed(
    standin: DiscordStandIn, settings: DiscordSettings, store: Store, hub: HubStub,
    revision_folders: dict[str, Path], local_embedder: LocalEmbedder,
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    settings = dataclasses.replace(settings, faq_index=REPO, hf_endpoint=hub.origin, faq_reload_seconds=0.2)
    serving = ServingEngine(FAQEngine(load_index(REPO, v1, endpoint=hub.origin), local_embedder))
    with following(settings, store, serving) as (reloading, _running):
        v2 = upload(hub, REPO, revision_folders["v2"])
        assert reloading.reloader.wait_until(lambda: serving.revision == v2, WAIT)
        assert _choices(standin, "abroad")[0] == NEW_FAQ["question"]
        stale = f"faq:{NEW_FAQ['id']}"  # what the person picked a moment before the rollback

        pin(store, v1, reason="v2 answers badly")  # faq-bot rollback v1
        assert reloading.reloader.wait_until(lambda: serving.revision == v1, WAIT)
        assert NEW_FAQ["question"] not in _choices(standin, "travelling abroad")
        assert _command(standin, stale)["content"] == messages.FAQ_GONE
        assert V2_MARK not in _mention(standin, "How do I sign up for Medicare?")["embeds"][0]["description"]
        assert [(r.revision, r.last_error) for r in replicas(store)] == [(v1, None)]
