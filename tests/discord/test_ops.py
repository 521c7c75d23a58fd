"""The Discord bot's operations endpoints over real sockets, beside the
Discord stand-in: ``/metrics`` counts its questions (platform ``discord``),
stages, replies, votes and REST errors; ``/readyz`` is 503 while the Gateway
is down or the embedding stand-in is, 200 again after; and the Hub webhook
on that port wakes the reloader of a Discord replica."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from bot.discord import render
from bot.discord.readiness import discord_readiness
from bot.discord.settings import DiscordSettings
from bot.ops.http import OpsServer, start_ops_server
from bot.ops.metrics import Metrics
from bot.serving.holder import ServingEngine
from bot.serving.hub_webhook import WEBHOOK_PATH
from bot.serving.reloading import start_reloading
from bot.store.database import Store
from faq_core.embedders import LocalEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex, load_index
from tests.discord.conftest import MESSAGES, ORIGINAL, RunningBot, start_bot
from tests.discord.test_commands import _click, _command
from tests.faq_sources import V2_MARK, upload
from tests.ops.test_metrics import scrape, value
from tests.ops.test_readiness import DOWN, tei_engine
from tests.service.test_replicas import webhook_payload
from tests.stubs import discord_payloads as P
from tests.stubs.discord_standin import DiscordStandIn
from tests.stubs.hub_api import HubStub
from tests.stubs.inference import InferenceStub

GATEWAY_DOWN = "the Gateway connection to Discord is down"
SECRET = "hub-webhook-secret-42"
REPO = "acme/faq"
WAIT = 60.0


class Served:
    """A running Discord bot with its operations server, as ``python -m bot discord`` runs them."""

    def __init__(self, running: RunningBot, ops: OpsServer) -> None:
        self.running = running
        self.ops = ops
        self.url = f"http://127.0.0.1:{ops.port}"

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, timeout=10)

    def ready_becomes(self, status: int, timeout: float = 30.0) -> requests.Response:
        """Poll ``/readyz`` until it answers ``status`` (readiness follows the connection, not at once)."""
        deadline = time.monotonic() + timeout
        while (response := self.get("/readyz")).status_code != status and time.monotonic() < deadline:
            time.sleep(0.1)
        assert response.status_code == status, response.text
        return response


@pytest.fixture()
def serve(settings: DiscordSettings, store: Store) -> Iterator[Callable[..., Served]]:
    """Start the Discord bot on ``engine`` with metrics and its ops server on a free port."""
    started: list[Served] = []

    def start(engine: FAQEngine | ServingEngine, *, every: float = 30.0, routes: tuple = (),
              bot_settings: DiscordSettings = settings) -> Served:
        metrics = Metrics()
        running = start_bot(bot_settings, engine, store, metrics=metrics)
        # the core's checks and Discord's, as python -m bot discord serves them; the embedding probed this often
        readiness = discord_readiness(running.bot.engine, store, running.bot.client, embedding_every=every)
        ops = start_ops_server(running.bot.engine, readiness, metrics, host="127.0.0.1", port=0, routes=routes)
        started.append(Served(running, ops))
        return started[-1]

    yield start
    for served in started:
        served.ops.close()
        served.running.stop()
        assert served.running.error is None, f"the bot died: {served.running.error!r}"


def test_metrics_count_discord_questions_replies_votes_and_rest_errors(
    standin: DiscordStandIn, serve: Callable[..., Served], engine: FAQEngine
) -> None:
    served = serve(engine)
    standin.message(P.dm_message("how do I sign up for Medicare?"))
    [post] = standin.api.wait_calls("POST", MESSAGES, timeout=60)
    assert post.status == 200
    _callback, edit = _command(standin, "I lost my Medicare card, what do I do?")
    _click(standin, render.HELPFUL, {**edit.response, "flags": P.EPHEMERAL})
    standin.api.wait_calls("PATCH", ORIGINAL, count=2)
    standin.api.deny(P.CHANNEL_ID)  # the bot lost access: Discord answers 403 Missing Access (code 50001)
    standin.message(P.mention_message("how do I sign up for Medicare?"))
    standin.api.wait_for(lambda calls: any(c.status == 403 for c in calls), timeout=60)
    served.running.bot.settle()

    samples, text = scrape(served.url)
    assert value(samples, "faq_bot_questions_total", platform="discord", outcome="answered") == 3
    assert not any('platform="slack"' in line for line in text.splitlines() if line.startswith("faq_bot_questions"))
    assert value(samples, "faq_bot_answer_seconds_count", platform="discord") == 3
    assert value(samples, "faq_bot_embedding_seconds_count") >= 1
    assert value(samples, "faq_bot_ranking_seconds_count") >= 1
    assert value(samples, "faq_bot_reply_seconds_count", kind="discord.message") == 1
    assert value(samples, "faq_bot_reply_seconds_count", kind="discord.command") == 1
    assert value(samples, "faq_bot_votes_total", platform="discord", vote="helpful") == 1
    assert value(samples, "faq_bot_platform_api_errors_total", platform="discord", kind="50001") == 1
    assert value(samples, "faq_bot_intake_outcomes_total", outcome="failed") == 1  # a refusal is not retried
    assert value(samples, "faq_bot_intake_depth") == 0
    assert 'faq_bot_index_info{' in text and P.BOT_TOKEN not in text
    assert "sign up" not in text and "lost my" not in text  # no question text in any label


def test_readiness_follows_the_gateway_and_the_embedding_service(
    standin: DiscordStandIn, serve: Callable[..., Served], sample_index: FAQIndex, inference_stub: InferenceStub
) -> None:
    served = serve(tei_engine(sample_index, inference_stub), every=0.2)
    ready = served.ready_becomes(200)
    assert ready.json()["checks"] == {"index": "ok", "model": "ok", "embedding": "ok", "store": "ok",
                                      "discord": "ok"}
    assert served.get("/healthz").json()["faqs"] == len(sample_index.faqs)

    with standin.gateway.disconnected():  # a network blip, the client kept away until the block ends
        down = served.ready_becomes(503)
        assert down.json()["checks"]["discord"] == GATEWAY_DOWN
        assert down.json()["checks"]["embedding"] == "ok"
    standin.gateway.wait_resumed()
    served.ready_becomes(200)

    inference_stub.down = True
    down = served.ready_becomes(503)
    assert down.json()["checks"]["embedding"] == DOWN and down.json()["checks"]["discord"] == "ok"
    assert inference_stub.base_url not in down.text
    inference_stub.down = False
    served.ready_becomes(200)


def test_the_hub_webhook_on_the_ops_port_reloads_a_discord_replica(
    standin: DiscordStandIn, serve: Callable[..., Served], settings: DiscordSettings, store: Store, hub: HubStub,
    revision_folders: dict[str, Path], local_embedder: LocalEmbedder,
) -> None:
    v1 = upload(hub, REPO, revision_folders["v1"])
    settings = dataclasses.replace(settings, faq_index=REPO, hf_endpoint=hub.origin, faq_reload_seconds=3600,
                                   hub_webhook_secret=SECRET)  # only the webhook is in time
    serving = ServingEngine(FAQEngine(load_index(REPO, v1, endpoint=hub.origin), local_embedder))
    reloading = start_reloading(serving, settings, store)
    assert reloading is not None
    try:
        served = serve(serving, routes=tuple(reloading.routes), bot_settings=settings)
        v2 = upload(hub, REPO, revision_folders["v2"])
        refused = requests.post(served.url + WEBHOOK_PATH, json=webhook_payload(REPO),
                                headers={"X-Webhook-Secret": "guess"}, timeout=10)
        assert refused.status_code == 401 and serving.revision == v1
        accepted = requests.post(served.url + WEBHOOK_PATH, json=webhook_payload(REPO),
                                 headers={"X-Webhook-Secret": SECRET}, timeout=10)
        assert accepted.status_code == 202
        assert reloading.reloader.wait_until(lambda: serving.revision == v2, WAIT)
        assert served.get("/readyz").json()["revision"]["serving"] == v2

        standin.message(P.mention_message("How do I sign up for Medicare?"))
        [post] = standin.api.wait_calls("POST", MESSAGES, timeout=60)
        assert V2_MARK in post.body["embeds"][0]["description"]
    finally:
        reloading.stop()
