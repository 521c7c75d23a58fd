"""When something behind the bot fails, people get a short, honest reply,
the log gets the cause (never a token), and the bot keeps serving."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import numpy as np
import pytest

from bot import messages
from bot.slack.settings import SlackSettings
from bot.store.database import Store
from faq_core.embedders import Embedder, HFInferenceEmbedder
from faq_core.engine import FAQEngine
from faq_core.index import FAQIndex
from tests.slack.conftest import RunningBot, start_bot, stop_bot
from tests.stubs.inference import InferenceStub, Reply
from tests.stubs.slack_api import BOT_TOKEN, BOT_USER_ID, Scripted, SlackAPIStub
from tests.stubs.slack_payloads import SIGNING_SECRET, direct_message, mention, signed_event, signed_form, slash_command

MENTION = f"<@{BOT_USER_ID}>"
HF_TOKEN = "hf_test_token_123"


def remote_engine(index: FAQIndex, url: str, token: str = HF_TOKEN) -> FAQEngine:
    """An engine embedding through the HF router protocol at ``url``, giving up quickly."""
    embedder = HFInferenceEmbedder(url=url, model_id=index.meta.model_id, token=token, timeout=2,
                                   connect_timeout=1, retry_budget=0.3)
    return FAQEngine(index, embedder)


@pytest.fixture()
def remote_bot(settings: SlackSettings, sample_index: FAQIndex, inference_stub: InferenceStub,
               store: Store) -> Iterator[RunningBot]:
    """The bot with questions embedded by the inference stand-in."""
    running = start_bot(settings, remote_engine(sample_index, inference_stub.router_url()), store)
    yield running
    stop_bot(running)


def _secrets_absent(caplog: pytest.LogCaptureFixture) -> None:
    for secret in (HF_TOKEN, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text


def test_embedding_service_5xx_gets_an_unavailable_reply_and_the_bot_keeps_serving(
    remote_bot: RunningBot, slack_api: SlackAPIStub, inference_stub: InferenceStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    inference_stub.script(*[Reply(503, {"error": "Model is currently loading", "estimated_time": 20.0})] * 20)
    remote_bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card")))
    [post] = slack_api.wait_calls("chat.postMessage")
    assert post.ok
    assert post.params["text"] == messages.SERVICE_UNAVAILABLE
    assert "503" in caplog.text or "unavailable" in caplog.text.lower()
    assert "EmbeddingUnavailableError" in caplog.text
    _secrets_absent(caplog)

    with inference_stub._lock:
        inference_stub._script.clear()  # the service recovers
    remote_bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card")))
    posts = slack_api.wait_calls("chat.postMessage", count=2)
    assert "How do I get a replacement Medicare card?" in posts[1].params["text"]


def test_embedding_auth_failure_gets_the_unavailable_reply_without_the_token(
    settings: SlackSettings, sample_index: FAQIndex, inference_stub: InferenceStub, store: Store,
    slack_api: SlackAPIStub, caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "hf_wrong_token_987"
    bot = start_bot(settings, remote_engine(sample_index, inference_stub.router_url(), token=wrong), store)
    try:
        bot.send(signed_form(slash_command("how do I sign up", slack_api.response_url("c"))))
        [reply] = slack_api.wait_calls("response_url")
    finally:
        stop_bot(bot)
    assert reply.params["text"] == messages.SERVICE_UNAVAILABLE
    assert reply.params["response_type"] == "ephemeral"
    assert "EmbeddingAuthError" in caplog.text
    assert wrong not in caplog.text
    _secrets_absent(caplog)


def test_embedding_service_unreachable_gets_the_unavailable_reply(
    settings: SlackSettings, sample_index: FAQIndex, store: Store, slack_api: SlackAPIStub,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    engine = remote_engine(sample_index, f"http://127.0.0.1:{closed_port}/hf-inference/models/x")
    bot = start_bot(settings, engine, store)
    try:
        bot.send(signed_event(direct_message("how do I sign up for Medicare")))
        [post] = slack_api.wait_calls("chat.postMessage")
    finally:
        stop_bot(bot)
    assert post.params["text"] == messages.SERVICE_UNAVAILABLE


class OutOfMemoryEmbedder(Embedder):
    """A local model that fails the way an overloaded machine does."""

    backend = "local"

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory")


def test_an_unexpected_engine_failure_gets_a_polite_apology_and_a_logged_trace(
    settings: SlackSettings, sample_index: FAQIndex, store: Store, slack_api: SlackAPIStub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = FAQEngine(sample_index, OutOfMemoryEmbedder(sample_index.meta.model_id))
    bot = start_bot(settings, engine, store)
    try:
        bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card")))
        [post] = slack_api.wait_calls("chat.postMessage")
    finally:
        stop_bot(bot)
    assert post.params["text"] == messages.INTERNAL_ERROR
    assert "allocate" not in str(post.params)  # no exception text reaches the person
    assert "DefaultCPUAllocator" in caplog.text and "Traceback" in caplog.text  # the cause is in the log
    _secrets_absent(caplog)


def test_slack_refusing_a_post_is_logged_and_the_bot_keeps_serving(
    bot: RunningBot, slack_api: SlackAPIStub, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.script("chat.postMessage", Scripted(200, {"ok": False, "error": "channel_not_found"}))
    bot.send(signed_event(mention(f"{MENTION} I lost my Medicare card", channel="CGONE0001")))
    slack_api.wait_calls("chat.postMessage")
    bot.send(signed_event(mention(f"{MENTION} what is TRICARE?")))
    posts = slack_api.wait_calls("chat.postMessage", count=2)
    assert posts[1].ok and "TRICARE" in posts[1].params["text"]
    bot.settle()  # the refused row's worker logs after its post failed: the second reply can come first
    assert "channel_not_found" in caplog.text


def test_blocks_slack_refuses_fall_back_to_the_plain_text(
    bot: RunningBot, slack_api: SlackAPIStub, caplog: pytest.LogCaptureFixture
) -> None:
    slack_api.script("chat.postMessage", Scripted(200, {"ok": False, "error": "invalid_blocks"}))
    bot.send(signed_event(mention(f"{MENTION} what is TRICARE?")))
    refused, fallback = slack_api.wait_calls("chat.postMessage", count=2)
    assert not refused.ok and fallback.ok
    assert "blocks" not in fallback.params
    assert fallback.params["text"] == refused.params["text"]
    assert "invalid_blocks" in caplog.text
